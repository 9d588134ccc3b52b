package dev.conveyor.connector.cron;

import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.spi.TriggerConnector;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.Set;

/**
 * {@code type: cron}: a schedule's ticks become invocations of one function.
 *
 * <pre>
 * - type: cron
 *   name: nightly
 *   schedule: "0 2 * * *"          # 5 fields (UNIX cron), or 6 with seconds first
 *   timeZone: Europe/Berlin         # default UTC
 *   target: { namespace: acme, function: report }
 *   payload: '{"kind":"nightly"}'   # default ""
 *   contentType: application/json   # default
 *   missedTicks: fireLast           # fireLast | fireAll | skip: ticks that came due while no replica led
 *   catchUpWindow: PT1H             # ticks older than this are never fired late
 * </pre>
 */
public final class CronTriggerFactory implements ConnectorFactory {
  private static final Set<String> KEYS = Set.of("type", "name", "schedule", "timeZone", "target", "payload", "contentType",
      "missedTicks", "catchUpWindow");

  @Override
  public String type() {
    return "cron";
  }

  @Override
  public TriggerConnector create(String name, JsonObject c) {
    return create(name, c, Clock.systemUTC());
  }

  TriggerConnector create(String name, JsonObject c, Clock clock) {
    for (String k : c.fieldNames()) {
      if (!KEYS.contains(k)) throw new IllegalArgumentException(k + ": unknown key");
    }
    String expression = required(c, "schedule");
    ZoneId zone;
    try {
      zone = ZoneId.of(c.getString("timeZone", "UTC"));
    } catch (DateTimeException e) {
      throw new IllegalArgumentException("timeZone: '" + c.getString("timeZone") + "' is not a time zone (e.g. Europe/Berlin)");
    }
    Schedule.Missed missed;
    try {
      missed = Schedule.Missed.valueOf(c.getString("missedTicks", "fireLast"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("missedTicks: must be fireLast, fireAll or skip");
    }
    Duration window;
    try {
      window = Duration.parse(c.getString("catchUpWindow", "PT1H"));
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("catchUpWindow: not an ISO-8601 duration (e.g. PT1H)");
    }
    if (window.isNegative()) throw new IllegalArgumentException("catchUpWindow: must not be negative");
    JsonObject target = c.getJsonObject("target");
    if (target == null) throw new IllegalArgumentException("target: required ({ namespace, function })");
    Schedule schedule = new Schedule(expression, zone, missed, window);
    return new CronTrigger(name, schedule, required(target, "namespace"), required(target, "function"),
        c.getString("payload", ""), c.getString("contentType", "application/json"), clock);
  }

  private static String required(JsonObject o, String key) {
    String v = o.getString(key);
    if (v == null || v.isBlank()) throw new IllegalArgumentException(key + ": required");
    return v;
  }
}
