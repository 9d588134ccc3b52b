package dev.conveyor.engine;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What started, in the order it started; {@link #close} stops it in the reverse order, so a component
 * is always stopped before what it was started on. A component that fails to stop is logged and the
 * rest still stop. Guava's {@code Closer} keeps the same order but stops at the first failure's
 * rethrow and takes {@code Closeable} only, hence this.
 */
final class Lifecycle implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Lifecycle.class);

  private record Entry(String name, AutoCloseable stop) {}

  private final Deque<Entry> started = new ArrayDeque<>();

  /** {@code component} has started; returns it. */
  <T extends AutoCloseable> T add(T component) {
    return add(component.getClass().getSimpleName(), component);
  }

  /** {@code component} (named {@code name} in logs) has started; returns it. */
  <T extends AutoCloseable> T add(String name, T component) {
    synchronized (started) {
      started.push(new Entry(name, component));
    }
    return component;
  }

  /** Stops everything added, last added first; a second call stops nothing. */
  @Override
  public void close() {
    while (true) {
      Entry e;
      synchronized (started) {
        e = started.poll();
      }
      if (e == null) return;
      try {
        e.stop().close();
      } catch (Exception err) {
        if (err instanceof InterruptedException) Thread.currentThread().interrupt();
        LOG.warn("stopping {}: {}", e.name(), err.toString());
      }
    }
  }
}
