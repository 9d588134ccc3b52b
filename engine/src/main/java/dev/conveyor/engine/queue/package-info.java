/**
 * The queue topic, {@code conveyor.invocations}. {@link Enqueuer} stores an accepted invocation with
 * acks=all before the caller may answer 202 (and its {@code queued} status when an idempotency key is
 * given); {@link InvocationCodec} maps an invocation to a record (the payload as value, the rest in
 * headers) and writes retry, forward and fence records; {@link QueueLookup} finds a queued invocation
 * this replica has not seen by seeking to its accept time, and settles an id whose write had an unknown
 * outcome with a fence.
 *
 * <p>May use: {@code api}, {@code kafka}, {@code status}, {@code time}. Built on the Kafka clients and
 * Caffeine (remembered misses).
 */
package dev.conveyor.engine.queue;
