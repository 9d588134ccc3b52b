package dev.conveyor.engine.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.parallel.ResourceAccessMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/** A test class that runs with no other beside it, at the end of the sequence ({@link Lanes}). */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Order(Lanes.LAST)
@ResourceLock(value = Lanes.BESIDE, mode = ResourceAccessMode.READ_WRITE)
public @interface Alone {}
