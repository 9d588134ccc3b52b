/**
 * The invocation's data as it is stored and served: {@link Invocation} (what travels on the queue),
 * {@link InvocationStatus} and {@link InvocationState} (the lifecycle the status topic and
 * {@code GET /v1/invocations/{id}} show), {@link AttemptRecord} and {@link StoredResult}; ids that carry
 * their accept time, queue partition and minting replica ({@link InvocationIds}: UUIDv7, or UUIDv8
 * derived from an idempotency key); and RFC 3339 timestamps written field by field ({@link Rfc3339}).
 *
 * <p>May use: no other Conveyor package. Only the JDK and Kafka's {@code Utils} (the murmur2 hash of
 * Kafka's partitioner, so an id's partition is the one Kafka would pick for its key).
 */
package dev.conveyor.engine.api;
