/**
 * The dead-letter topic as the API reads it: {@link DeadLetterIndex} is every replica's bounded view of
 * it, per tenant and newest first, built from record headers only; {@link RecordFetcher} reads the one
 * record at a known position that a redrive needs. Writing dead letters is not done here but by
 * {@code dispatch}.
 *
 * <p>May use: {@code api}, {@code kafka}, {@code queue} ({@code InvocationCodec}), {@code time}. Built on
 * the Kafka clients.
 */
package dev.conveyor.engine.deadletter;
