package dev.conveyor.engine.metering;

import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.kafka.TopicFollower;
import java.time.Instant;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The hourly rollups as every replica sees them: {@code conveyor.usage-rollups} (compacted, one
 * record per tenant, function and hour, written by {@link UsageRollupTopology}) read from its
 * beginning and followed, per tenant. What {@code GET /v1/usage} answers from.
 */
public final class UsageRollups implements AutoCloseable {
  /** One hour of one function. */
  public record Row(String namespace, String function, Instant hour, UsageTotals totals) {}

  private final Map<String, NavigableMap<String, Row>> byTenant = new ConcurrentHashMap<>();
  private final TopicFollower follower;
  private volatile java.util.function.Consumer<String> onChange = tenant -> {};

  public UsageRollups(KafkaClients clients, String topic) {
    this.follower = new TopicFollower(clients.consumer("conveyor-usage-rollups", null, new ByteArrayDeserializer(), Map.of()),
        topic, "conveyor-usage-rollups", r -> {
          if (r.key() == null || r.value() == null) return;
          String[] k = r.key().split("/", 4);
          if (k.length != 4) return;
          Row row = new Row(k[1], k[2], Instant.parse(k[3]), UsageTotals.parse(r.value()));
          byTenant.computeIfAbsent(k[0], t -> new ConcurrentSkipListMap<>()).put(k[3] + "/" + k[1] + "/" + k[2], row);
          onChange.accept(k[0]);
        }).start();
  }

  /** Tells {@code listener} the tenant of each rollup read (on the follower's thread). */
  public void onChange(java.util.function.Consumer<String> listener) {
    onChange = listener;
  }

  /** The tenant's hours in {@code [from, to)}, in hour order. */
  public NavigableMap<String, Row> rows(String tenant, Instant from, Instant to) {
    NavigableMap<String, Row> m = byTenant.get(tenant);
    if (m == null) return new TreeMap<>();
    return m.subMap(from.toString(), true, to.toString(), false);
  }

  @Override
  public void close() {
    follower.close();
  }
}
