package dev.conveyor.engine.deadletter;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.kafka.HeadersOnly;
import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.kafka.TopicFollower;
import dev.conveyor.engine.queue.InvocationCodec;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Every replica's view of the dead-letter topic, per tenant, newest first, from record headers only
 * (payloads stay on Kafka until a redrive fetches one). Bounded: the newest {@code perTenant}
 * entries of each tenant.
 */
public final class DeadLetterIndex implements AutoCloseable {
  /** One dead letter, and where its full record is. */
  public record Entry(String id, String tenant, String namespace, String function, int attempts, Integer httpStatus,
      String lastError, Instant deadAt, int partition, long offset) {}

  private final int perTenant;
  private final Map<String, ConcurrentSkipListMap<String, Entry>> byTenant = new ConcurrentHashMap<>();
  private final Map<String, Entry> byId = new ConcurrentHashMap<>();
  private final TopicFollower follower;

  public DeadLetterIndex(KafkaClients clients, String topic, int perTenant) {
    this.perTenant = perTenant;
    this.follower = new TopicFollower(clients.consumer("conveyor-deadletter-index", null, new HeadersOnly(), Map.of()),
        topic, "conveyor-deadletter-index", this::add);
  }

  public DeadLetterIndex start() {
    follower.start();
    return this;
  }

  /** The tenant's dead letters, newest first. */
  public List<Entry> list(String tenant, int limit) {
    ConcurrentSkipListMap<String, Entry> m = byTenant.get(tenant);
    if (m == null) return List.of();
    List<Entry> out = new ArrayList<>();
    for (Entry e : m.descendingMap().values()) {
      if (out.size() >= limit) break;
      out.add(e);
    }
    return out;
  }

  /** The dead letter of this id, if it is this tenant's. */
  public java.util.Optional<Entry> find(String tenant, String id) {
    Entry e = byId.get(id);
    return e != null && e.tenant().equals(tenant) ? java.util.Optional.of(e) : java.util.Optional.empty();
  }

  private void add(ConsumerRecord<String, byte[]> r) {
    Invocation inv = InvocationCodec.decode(r.headers(), null);
    Entry e = new Entry(inv.id(), inv.tenant(), inv.namespace(), inv.function(),
        (int) InvocationCodec.number(r.headers(), "conveyor-attempts", 0), status(r.headers()), text(r.headers(), "knativeerrordata"),
        Instant.ofEpochMilli(r.timestamp()), r.partition(), r.offset());
    ConcurrentSkipListMap<String, Entry> m = byTenant.computeIfAbsent(e.tenant(), t -> new ConcurrentSkipListMap<>());
    m.put(String.format("%016x-%s", r.timestamp(), e.id()), e);
    byId.put(e.id(), e);
    while (m.size() > perTenant) {
      Entry oldest = m.pollFirstEntry().getValue();
      byId.remove(oldest.id(), oldest);
    }
  }

  private static Integer status(Headers h) {
    long n = InvocationCodec.number(h, "knativeerrorcode", -1);
    return n < 0 ? null : (int) n;
  }

  private static String text(Headers h, String key) {
    Header hd = h.lastHeader(key);
    return hd == null || hd.value() == null ? null : new String(hd.value(), StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    follower.close();
  }
}
