package dev.conveyor.connector.spi;

import io.vertx.core.json.JsonObject;

/**
 * Found with {@link java.util.ServiceLoader}; {@link #type()} matches the {@code type} of an entry
 * under {@code connectors:} in the config, whose other keys arrive as {@code config}.
 */
public interface ConnectorFactory {
  String type();

  /** @throws IllegalArgumentException naming the key, when the entry cannot be used */
  TriggerConnector create(String name, JsonObject config);
}
