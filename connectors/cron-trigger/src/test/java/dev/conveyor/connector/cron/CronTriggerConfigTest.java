package dev.conveyor.connector.cron;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conveyor.config.ConfigException;
import dev.conveyor.connector.cron.CronTriggerFactory.Config;
import dev.conveyor.connector.testkit.ConnectorConfigs;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A {@code type: cron} entry is bound as the gateway's config file is: defaults, strict types, its own checks, errors naming the key. */
class CronTriggerConfigTest {
  private final CronTriggerFactory factory = new CronTriggerFactory();

  private static JsonObject entry() {
    return new JsonObject().put("type", "cron").put("name", "nightly").put("schedule", "0 2 * * *")
        .put("target", new JsonObject().put("namespace", "acme").put("function", "report"));
  }

  private Config bind(JsonObject entry) {
    return ConnectorConfigs.bind(factory, entry);
  }

  @Test
  void keysLeftOutTakeTheirDefaults() {
    Config c = bind(entry().putNull("payload"));
    assertThat(c.timeZone()).isEqualTo("UTC");
    assertThat(c.payload()).as("null is left out").isEmpty();
    assertThat(c.contentType()).isEqualTo("application/json");
    assertThat(c.missedTicks()).isEqualTo(Schedule.Missed.fireLast);
    assertThat(c.catchUpWindow()).isEqualTo(Duration.ofHours(1));
    assertThat(bind(entry().put("timeZone", "Europe/Berlin").put("catchUpWindow", "PT10M").put("missedTicks", "skip")))
        .extracting(Config::timeZone, Config::catchUpWindow, Config::missedTicks)
        .containsExactly("Europe/Berlin", Duration.ofMinutes(10), Schedule.Missed.skip);
  }

  @Test
  void theBindingIsStrict() {
    assertThatThrownBy(() -> bind(entry().put("shedule", "* * * * *"))).isInstanceOf(ConfigException.class)
        .hasMessage("shedule: unknown key");
    assertThatThrownBy(() -> bind(entry().put("payload", 5))).hasMessage("payload: expected a string, got '5'");
    assertThatThrownBy(() -> bind(entry().put("contentType", true))).hasMessage("contentType: expected a string, got 'true'");
    assertThatThrownBy(() -> bind(entry().put("catchUpWindow", "1h")))
        .hasMessage("catchUpWindow: expected an ISO-8601 duration such as PT30S, got '1h'");
    assertThatThrownBy(() -> bind(entry().put("catchUpWindow", 3600)))
        .hasMessage("catchUpWindow: expected an ISO-8601 duration such as PT30S, got '3600'");
    assertThatThrownBy(() -> bind(entry().put("catchUpWindow", "-PT1H"))).hasMessage("catchUpWindow: must not be negative, got '-PT1H'");
    assertThatThrownBy(() -> bind(entry().put("missedTicks", "fireSome")))
        .hasMessage("missedTicks: expected one of [fireLast, fireAll, skip], got 'fireSome'");
  }

  @Test
  void theScheduleTimeZoneAndTargetAreChecked() {
    JsonObject noSchedule = entry();
    noSchedule.remove("schedule");
    assertThatThrownBy(() -> bind(noSchedule)).hasMessage("schedule: is required");
    assertThatThrownBy(() -> bind(entry().put("schedule", "0 2 * *")))
        .hasMessage("schedule: has 4 fields; use 5 (min hour day month weekday) or 6 (seconds first), got '0 2 * *'");
    assertThatThrownBy(() -> bind(entry().put("schedule", "0 25 * * *")))
        .hasMessageStartingWith("schedule: is not a valid cron expression (").hasMessageEndingWith(", got '0 25 * * *'");
    assertThatThrownBy(() -> bind(entry().put("timeZone", "Mars/Olympus")))
        .hasMessage("timeZone: expected a time zone such as Europe/Berlin, got 'Mars/Olympus'");
    JsonObject noTarget = entry();
    noTarget.remove("target");
    assertThatThrownBy(() -> bind(noTarget)).hasMessage("target: is required: { namespace, function }");
    assertThatThrownBy(() -> bind(entry().put("target", new JsonObject().put("namespace", "acme").put("function", ""))))
        .hasMessage("target.function: is required, got ''");
  }
}
