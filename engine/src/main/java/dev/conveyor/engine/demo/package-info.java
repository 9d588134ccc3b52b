/**
 * {@code bin/conveyor demo} ({@link Demo}): starts the whole gateway embedded on free ports in a scratch
 * directory, sends a few thousand async invocations through the real HTTP API with a progress bar, waits
 * for all of them to end and prints what happened, usage included (read back from
 * {@code conveyor.usage}).
 *
 * <p>May use: the root package ({@code Conveyor}), {@code auth} (hashing the demo's API key),
 * {@code config}, {@code kafka} ({@code EmbeddedKafka}), {@code time}. Built on the JDK HTTP client, the
 * Kafka clients, progressbar, HdrHistogram, Micrometer and Log4j (the gateway's logs go to a file).
 */
package dev.conveyor.engine.demo;
