package dev.conveyor.engine.connect;

import dev.conveyor.engine.futures.Futures;
import com.fasterxml.jackson.databind.JsonNode;
import dev.conveyor.connector.spi.ConnectorContext;
import dev.conveyor.connector.spi.TriggerConnector;
import dev.conveyor.engine.config.ConfigLoader;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the connectors listed under {@code connectors:}: each entry's {@code type} picks a
 * {@link dev.conveyor.connector.spi.ConnectorFactory} found with {@link java.util.ServiceLoader}, its
 * other keys are bound onto that factory's config record as the rest of the file is
 * ({@link ConfigLoader#connectors}). An unknown type or a refused entry stops start-up with one line
 * naming it. Stopped before the dispatcher, so nothing is submitted into a gateway that is going away.
 */
public final class ConnectorHost implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConnectorHost.class);
  private final List<TriggerConnector> started = new ArrayList<>();

  /** Creates every connector first (config errors before anything starts), then starts them. */
  public ConnectorHost(JsonNode entries, ConnectorContext context) {
    List<TriggerConnector> created = new ArrayList<>();
    for (ConfigLoader.Connector<?> c : ConfigLoader.connectors(entries)) created.add(c.create());
    for (TriggerConnector c : created) {
      try {
        Futures.await(c.start(context), Duration.ofSeconds(30), "starting connector " + c.getClass().getSimpleName());
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
        Futures.await(c.stop(), Duration.ofSeconds(15), "stopping connector " + c.getClass().getSimpleName());
      } catch (Exception e) {
        LOG.warn("stopping a connector: {}", e.toString());
      }
    }
    started.clear();
  }
}
