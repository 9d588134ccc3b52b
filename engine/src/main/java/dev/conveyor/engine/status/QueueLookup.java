package dev.conveyor.engine.status;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.kafka.ConsumerThread;
import dev.conveyor.engine.kafka.HeadersOnly;
import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.queue.InvocationCodec;
import io.vertx.core.Future;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;

/**
 * Finds a queued invocation this replica has not seen: another replica accepted it and no
 * dispatcher started it yet, so only the queue knows it. The id gives the partition and the accept
 * time; the lookup seeks to that time and scans forward for the key, reading headers only.
 *
 * <p>Runs on one thread of its own (the consumer blocks) with a short bounded queue; ids that
 * cannot be ours are refused without touching Kafka, and misses are remembered for a moment, so
 * guessing ids costs the caller more than it costs the gateway.
 */
public final class QueueLookup implements AutoCloseable {
  /** What the queue says of an id. */
  public sealed interface Result {}

  /** Queued: on the queue, and not behind the dispatchers' committed offset. */
  public record Queued(Invocation invocation) implements Result {}

  /** On the queue but behind the committed offset: it finished, and its status left the cache. */
  public record Finished() implements Result {}

  /** Not on the queue. */
  public record Unknown() implements Result {}

  /** Producers' clocks differ between replicas: search this much around the id's time. */
  private static final long SKEW_MS = 5_000;
  private static final int MAX_SCAN = 50_000;

  private final ConsumerThread reader;
  private final Admin admin;
  private final String dispatchGroup;
  private final String topic;
  private final int partitions;
  private final Duration retention;
  private final Supplier<Instant> clock;
  private final Cache<String, Boolean> misses = Caffeine.newBuilder()
      .maximumSize(10_000).expireAfterWrite(Duration.ofSeconds(2)).build();

  public QueueLookup(KafkaClients clients, Admin admin, String dispatchGroup, String topic, int partitions, Duration retention,
      Supplier<Instant> clock) {
    this.reader = new ConsumerThread(clients.consumer("conveyor-queue-lookup", null, new HeadersOnly(),
        Map.of("max.poll.records", "2000")), "conveyor-queue-lookup", 256);
    this.admin = admin;
    this.dispatchGroup = dispatchGroup;
    this.topic = topic;
    this.partitions = partitions;
    this.retention = retention;
    this.clock = clock;
  }

  /**
   * Completes on the caller's context. Fails (rather than answering {@link Unknown}) when the
   * queue could not be searched: busy, broker unreachable, or the search hit its bounds.
   */
  public Future<Result> find(String id) {
    OptionalLong at = InvocationIds.millis(id);
    long now = clock.get().toEpochMilli();
    if (at.isEmpty() || at.getAsLong() > now + 60_000 || at.getAsLong() < now - retention.toMillis()
        || misses.getIfPresent(id) != null) {
      return Future.succeededFuture(new Unknown());
    }
    return reader.run(consumer -> {
      try {
        Result r = scan(consumer, id, at.getAsLong());
        if (r instanceof Unknown) misses.put(id, Boolean.TRUE);
        return r;
      } catch (Exception e) {
        throw new IllegalStateException("the queue could not be searched", e);
      }
    });
  }

  private Result scan(KafkaConsumer<String, byte[]> consumer, String id, long millis) throws Exception {
    TopicPartition tp = new TopicPartition(topic, InvocationIds.partition(id, partitions));
    consumer.assign(List.of(tp));
    OffsetAndTimestamp start = consumer.offsetsForTimes(Map.of(tp, Math.max(0, millis - SKEW_MS)), Duration.ofSeconds(5)).get(tp);
    if (start == null) return new Unknown();
    consumer.seek(tp, start.offset());
    long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(5)).get(tp);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    int scanned = 0;
    while (consumer.position(tp) < end && scanned < MAX_SCAN && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        if (id.equals(r.key())) {
          OffsetAndMetadata committed = admin.listConsumerGroupOffsets(dispatchGroup).partitionsToOffsetAndMetadata()
              .get(5, TimeUnit.SECONDS).get(tp);
          if (committed != null && r.offset() < committed.offset()) return new Finished();
          return new Queued(InvocationCodec.decode(r.headers(), null));
        }
        if (r.timestamp() > millis + 12 * SKEW_MS) return new Unknown();
        scanned++;
      }
    }
    if (consumer.position(tp) >= end) return new Unknown();
    throw new IllegalStateException("search bounds reached");
  }

  @Override
  public void close() {
    reader.close();
  }
}
