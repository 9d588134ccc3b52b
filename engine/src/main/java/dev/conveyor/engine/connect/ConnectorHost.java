package dev.conveyor.engine.connect;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conveyor.connector.spi.ConnectorContext;
import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.spi.TriggerConnector;
import dev.conveyor.engine.config.ConfigException;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the connectors listed under {@code connectors:}: each entry's {@code type} picks a
 * {@link ConnectorFactory} found with {@link ServiceLoader}, its other keys configure it. An unknown
 * type or a refused entry stops start-up with one line naming it. Stopped before the dispatcher,
 * so nothing is submitted into a gateway that is going away.
 */
public final class ConnectorHost implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectorHost.class);
  private final List<TriggerConnector> started = new ArrayList<>();

  /** Creates every connector first (config errors before anything starts), then starts them. */
  public ConnectorHost(JsonNode entries, ConnectorContext context) {
    Map<String, ConnectorFactory> factories = new HashMap<>();
    ServiceLoader.load(ConnectorFactory.class).forEach(f -> factories.put(f.type(), f));
    List<TriggerConnector> created = new ArrayList<>();
    if (entries != null && !entries.isNull()) {
      if (!entries.isArray()) throw new ConfigException("connectors", "expected a list");
      for (int i = 0; i < entries.size(); i++) {
        JsonObject c = new JsonObject(entries.get(i).toString());
        String key = "connectors[" + i + "]";
        String type = c.getString("type");
        String name = c.getString("name");
        if (type == null || name == null) throw new ConfigException(key, "every connector needs a type and a name");
        if (type.equals("cloudevents")) continue; // built in: the API's /events route (CloudEventsIngress)
        ConnectorFactory f = factories.get(type);
        if (f == null) throw new ConfigException(key + ".type", "no connector of type '" + type + "' (known: " + factories.keySet() + ")");
        try {
          created.add(f.create(name, c));
        } catch (ClassCastException e) {
          throw new ConfigException(key, "a value has the wrong type (a number, true/false, a list or a mapping is expected where given text)");
        } catch (IllegalArgumentException e) {
          throw new ConfigException(key + "." + e.getMessage().split(":")[0], e.getMessage().contains(":")
              ? e.getMessage().substring(e.getMessage().indexOf(':') + 1).trim() : e.getMessage());
        }
      }
    }
    for (TriggerConnector c : created) {
      try {
        c.start(context).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        started.add(c);
      } catch (Exception e) {
        close();
        throw new IllegalStateException("starting a connector failed: " + e.getMessage(), e);
      }
    }
    if (!started.isEmpty()) LOG.info("{} trigger connectors started", started.size());
  }

  @Override
  public void close() {
    for (TriggerConnector c : started) {
      try {
        c.stop().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("stopping a connector: {}", e.toString());
      }
    }
    started.clear();
  }
}
