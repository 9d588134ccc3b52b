/**
 * The shared ways of consuming a topic whose records finish out of order: {@link BoundedConsumer} (a
 * Vert.x Kafka consumer with a bound on records in flight, committing only up to the lowest unfinished
 * record, per partition through {@link OffsetTracker}), {@link Backoff} (exponential or linear, capped,
 * full jitter, never under {@code Retry-After}) and {@link Waits} (backoff timers and stores retried
 * until Kafka takes them, stopped as one).
 *
 * <p>May use: {@code config} (backoff policy), {@code kafka} ({@code KafkaSender}), {@code time}. Built on
 * the Vert.x Kafka client.
 *
 * <p>It knows nothing of its users: {@code ArchitectureTest} forbids any dependency on {@code dispatch},
 * {@code callback}, {@code http} or {@code connect}.
 */
package dev.conveyor.engine.consume;
