/**
 * The one bridge between future types ({@link Futures}): Vert.x futures, the JDK's completion stages
 * and the Kafka clients' futures, and the one blocking wait for threads that may block.
 *
 * <p>May use: nothing of Conveyor's. Built on Vert.x core and the Kafka clients. {@code ArchitectureTest}
 * pins that no other package converts between them itself.
 */
package dev.conveyor.engine.futures;
