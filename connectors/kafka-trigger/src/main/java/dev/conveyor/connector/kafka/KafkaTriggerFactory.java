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
 *   maxInFlight: 64               # records held at once (queued, or in ordered mode waiting to finish)
 *   ordered: false                # true: per key, the next record waits for the previous one's end
 *   poisonLimit: 3                # ordered: attempts per record before it is dead-lettered and its key moves on
 *   properties: { security.protocol: SASL_SSL, ... }   # any Kafka consumer property (SASL/TLS)
 * </pre>
 */
public final class KafkaTriggerFactory implements ConnectorFactory {
  private static final Set<String> KEYS = Set.of("type", "name", "bootstrapServers", "topic", "group", "target",
      "maxInFlight", "properties", "ordered", "poisonLimit");

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
    boolean ordered = c.getBoolean("ordered", false);
    int poisonLimit = c.getInteger("poisonLimit", 3);
    if (poisonLimit < 1 || poisonLimit > 100) throw new IllegalArgumentException("poisonLimit: must be between 1 and 100");
    int maxInFlight = c.getInteger("maxInFlight", 64);
    if (maxInFlight < 1 || maxInFlight > 10_000) throw new IllegalArgumentException("maxInFlight: must be between 1 and 10000");
    Map<String, String> props = new HashMap<>();
    JsonObject p = c.getJsonObject("properties", new JsonObject());
    p.forEach(e -> props.put(e.getKey(), String.valueOf(e.getValue())));
    return new KafkaTrigger(name, c.getString("bootstrapServers", ""), topic, group, ns, fn, maxInFlight, ordered, poisonLimit,
        props);
  }

  private static String required(JsonObject o, String key) {
    String v = o.getString(key);
    if (v == null || v.isBlank()) throw new IllegalArgumentException(key + ": required");
    return v;
  }
}
