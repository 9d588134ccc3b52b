package dev.conveyor.connector.spi;

import io.vertx.core.Future;

/**
 * A source of invocations (a Kafka topic, a schedule, CloudEvents): started and stopped with the
 * gateway, it turns events into {@link ConnectorContext#submit} calls. Connectors depend on this
 * module only, never on the engine's internals.
 */
public interface TriggerConnector {
  Future<Void> start(ConnectorContext context);

  Future<Void> stop();
}
