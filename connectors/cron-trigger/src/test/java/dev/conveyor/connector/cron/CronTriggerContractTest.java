package dev.conveyor.connector.cron;

import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.testkit.ConnectorContract;
import io.vertx.core.json.JsonObject;

/** The schedule trigger passes the connector contract: a schedule that ticks every second is its source. */
class CronTriggerContractTest extends ConnectorContract {
  @Override
  protected ConnectorFactory<?> factory() {
    return new CronTriggerFactory();
  }

  @Override
  protected JsonObject config() {
    return new JsonObject().put("type", "cron").put("name", "contract").put("schedule", "* * * * * *")
        .put("target", new JsonObject().put("namespace", "acme").put("function", "echo")).put("payload", "{}");
  }

  @Override
  protected void emit(int n) {
    // The schedule ticks by itself, once a second.
  }

  @Override
  protected String trigger() {
    return "cron";
  }
}
