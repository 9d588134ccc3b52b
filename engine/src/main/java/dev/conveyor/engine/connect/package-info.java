/**
 * Trigger connectors inside the gateway. {@link ConnectorHost} starts the {@code connectors:} entries
 * through their factories; {@link Submissions} is the gateway's {@code ConnectorContext} (a submission
 * goes through the same {@code Enqueuer} as an HTTP invoke, deduplicated by its key);
 * {@link ConnectorState} keeps connectors' durable state on a compacted topic; {@link Leases} is leader
 * election across replicas through Kubernetes Leases; {@link CloudEventsIngress} is the CloudEvents sink
 * {@code POST /v1/namespaces/{ns}/events}.
 *
 * <p>May use: {@code api}, {@code auth}, {@code config}, {@code functions}, {@code http}
 * ({@code AuthHandler}, {@code RawBodyHandler}, {@code ApiError} for the CloudEvents route),
 * {@code kafka}, {@code observability}, {@code queue}, {@code status}, {@code tenancy}, {@code time},
 * plus {@code dev.conveyor.connector.spi} and {@code dev.conveyor.config}. Built on fabric8's leader
 * election, the CloudEvents SDK, Vert.x web and Jackson.
 */
package dev.conveyor.engine.connect;
