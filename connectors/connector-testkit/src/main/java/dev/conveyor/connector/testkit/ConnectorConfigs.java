package dev.conveyor.connector.testkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.config.ConfigBinder;
import dev.conveyor.config.ConfigException;
import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.spi.TriggerConnector;
import io.vertx.core.json.JsonObject;

/**
 * A connector's entry bound as the gateway binds one under {@code connectors:}: {@code type} and
 * {@code name} set aside, the other keys onto the factory's config record with the gateway's binder
 * (strict, defaults from the record's {@code DEFAULTS}, its constraints checked). Errors are the
 * gateway's, without the {@code connectors[i].} the gateway puts first: {@code target.namespace: is required}.
 */
public final class ConnectorConfigs {
  private ConnectorConfigs() {}

  /** @throws ConfigException naming the key, as the gateway would refuse the entry */
  public static <C extends Record> C bind(ConnectorFactory<C> factory, JsonObject entry) {
    ObjectNode keys;
    try {
      keys = (ObjectNode) ConfigBinder.YAML.readTree(entry.encode());
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e);
    }
    keys.remove("type");
    keys.remove("name");
    return ConfigBinder.bind(keys, factory.configType(), "");
  }

  /** The connector the gateway would create from {@code entry}. */
  public static <C extends Record> TriggerConnector create(ConnectorFactory<C> factory, String name, JsonObject entry) {
    return factory.create(name, bind(factory, entry));
  }
}
