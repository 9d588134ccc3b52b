package dev.conveyor.connector.kafka;

import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.spi.TriggerConnector;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code type: kafka}: records of a user topic become invocations of one function.
 *
 * <pre>
 * - type: kafka
 *   name: orders
 *   bootstrapServers: ""          # "" = the gateway's own Kafka
 *   topic: orders
 *   group: conveyor-orders
 *   target: { namespace: acme, function: resize }
 *   maxInFlight: 64               # records being queued at once
 *   properties: { security.protocol: SASL_SSL, ... }   # any Kafka consumer property (SASL/TLS)
 * </pre>
 */
public final class KafkaTriggerFactory implements ConnectorFactory {
  private static final Set<String> KEYS = Set.of("type", "name", "bootstrapServers", "topic", "group", "target",
      "maxInFlight", "properties", "ordered");

  @Override
  public String type() {
    return "kafka";
  }

  @Override
  public TriggerConnector create(String name, JsonObject c) {
    for (String k : c.fieldNames()) {
      if (!KEYS.contains(k)) throw new IllegalArgumentException(k + ": unknown key");
    }
    String topic = required(c, "topic");
    String group = c.getString("group", "conveyor-" + name);
    JsonObject target = c.getJsonObject("target");
    if (target == null) throw new IllegalArgumentException("target: required ({ namespace, function })");
    String ns = required(target, "namespace");
    String fn = required(target, "function");
    if (c.getBoolean("ordered", false)) {
      throw new IllegalArgumentException("ordered: per-key ordered mode is not built yet; leave it false");
    }
    int maxInFlight = c.getInteger("maxInFlight", 64);
    if (maxInFlight < 1 || maxInFlight > 10_000) throw new IllegalArgumentException("maxInFlight: must be between 1 and 10000");
    Map<String, String> props = new HashMap<>();
    JsonObject p = c.getJsonObject("properties", new JsonObject());
    p.forEach(e -> props.put(e.getKey(), String.valueOf(e.getValue())));
    return new KafkaTrigger(name, c.getString("bootstrapServers", ""), topic, group, ns, fn, maxInFlight, props);
  }

  private static String required(JsonObject o, String key) {
    String v = o.getString(key);
    if (v == null || v.isBlank()) throw new IllegalArgumentException(key + ": required");
    return v;
  }
}
