/**
 * Every invocation's status and result as all replicas see them. {@link StatusStore} writes each change
 * to the compacted {@code conveyor.status} topic and applies changes only as read back, in
 * {@code version} order, into a bounded Caffeine cache (with the idempotency keys); {@link StatusReader}
 * replays and follows the topic on every replica; {@link StatusCodec} is a record's value.
 *
 * <p>May use: {@code api}, {@code kafka}, {@code time}. Built on Caffeine, Jackson and the Kafka clients.
 *
 * <p>It knows nothing of the queue ({@code ArchitectureTest} forbids any dependency on {@code queue}):
 * invocations still queued are found by {@code queue.QueueLookup}, which uses this package, not the
 * reverse.
 */
package dev.conveyor.engine.status;
