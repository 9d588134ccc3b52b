/**
 * Usage for billing. {@link UsageEmitter} writes one CloudEvent per attempt to {@code conveyor.usage}
 * (id {@code <invocationId>:<attempt>}, amounts from {@link Billing}) and {@link UsageAdjustments} writes
 * corrections; {@link UsageRollupTopology}, run by {@link UsageStreams}, rolls usage up per tenant,
 * function and hour exactly once; {@link UsageRollups} follows the rollups for {@code GET /v1/usage};
 * {@link UsageForwarder} forwards usage to a billing system's HTTP ingest; {@link UsageExport} is
 * {@code bin/conveyor usage export}.
 *
 * <p>May use: {@code api}, {@code config}, {@code kafka}, {@code observability}, {@code time}. Built on
 * the Kafka clients, Kafka Streams, Jackson, the JDK HTTP client and progressbar.
 */
package dev.conveyor.engine.metering;
