package dev.conveyor.engine.queue;

import dev.conveyor.engine.futures.Futures;
import dev.conveyor.engine.time.Time;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.kafka.ConsumerThread;
import dev.conveyor.engine.kafka.HeadersOnly;
import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
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
 * <p>It also settles ids whose write had an unknown outcome. A partition is one ordered log, and
 * the dispatcher runs a copy of an invocation only if it comes before the first fence for its id
 * ({@link InvocationCodec#fence}). So for a {@link InvocationIds#fenceable} id that the scan does not
 * find, the lookup appends a fence and reads on up to it: a copy before the fence is stored (it runs);
 * none means never stored, for good, whatever a frozen broker appends later. That verdict is stored
 * as the id's {@code voided} status. A fenceable id is scanned to the end, never cut short by time.
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

  /** Never stored: a fence for the id comes before any copy of it, so none ever runs. */
  public record Voided() implements Result {}

  /** Producers' clocks differ between replicas: search this much around the id's time. */
  private static final long SKEW_MS = 5_000;
  private static final int MAX_SCAN = 50_000;
  /** A fenceable id is read up to its fence, however far: bounded by time only. */
  private static final long SETTLE_SCAN_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final ConsumerThread reader;
  private final Admin admin;
  private final String dispatchGroup;
  private final String topic;
  private final int partitions;
  private final Duration retention;
  private final Time clock;
  private final dev.conveyor.engine.kafka.KafkaSender sender;
  private final StatusStore store;
  private final Duration writeTimeout;
  private final Cache<String, Boolean> misses;

  /**
   * @param sender writes fences and verdicts; {@code writeTimeout}: how long a write may take (the
   *     producer's delivery timeout) before the lookup gives up and fails
   */
  public QueueLookup(KafkaClients clients, Admin admin, String dispatchGroup, String topic, int partitions, Duration retention,
      Time clock, dev.conveyor.engine.kafka.KafkaSender sender, StatusStore store, Duration writeTimeout) {
    this.sender = sender;
    this.store = store;
    this.writeTimeout = writeTimeout;
    this.reader = new ConsumerThread(clients.consumer("conveyor-queue-lookup", null, new HeadersOnly(),
        Map.of("max.poll.records", "2000")), "conveyor-queue-lookup", 256);
    this.admin = admin;
    this.dispatchGroup = dispatchGroup;
    this.topic = topic;
    this.partitions = partitions;
    this.retention = retention;
    this.clock = clock;
    this.misses = Caffeine.newBuilder().ticker(clock.ticker()).maximumSize(10_000).expireAfterWrite(Duration.ofSeconds(2)).build();
  }

  /** {@link #find(String, String)} by a caller of no tenant in particular. */
  public Future<Result> find(String id) {
    return find(id, "");
  }

  /**
   * Completes on the caller's context. Fails (rather than answering {@link Unknown}) when the
   * queue could not be searched: busy, broker unreachable, or the search hit its bounds; a
   * fenceable id is settled ({@link Voided} or found), never {@link Unknown}. {@code tenant}: the
   * caller's, named in a fence it writes.
   */
  public Future<Result> find(String id, String tenant) {
    OptionalLong at = InvocationIds.millis(id);
    long now = clock.millis();
    if (at.isEmpty() || at.getAsLong() > now + 60_000 || at.getAsLong() < now - retention.toMillis()
        || misses.getIfPresent(id) != null) {
      return Future.succeededFuture(new Unknown());
    }
    return reader.run(consumer -> {
      try {
        Result r = scan(consumer, id, at.getAsLong(), tenant);
        if (r instanceof Unknown) misses.put(id, Boolean.TRUE);
        return r;
      } catch (Exception e) {
        throw new IllegalStateException("the queue could not be searched", e);
      }
    });
  }

  private Result scan(KafkaConsumer<String, byte[]> consumer, String id, long millis, String tenant) throws Exception {
    TopicPartition tp = new TopicPartition(topic, InvocationIds.partition(id, partitions));
    boolean fenceable = InvocationIds.fenceable(id);
    consumer.assign(List.of(tp));
    OffsetAndTimestamp start = consumer.offsetsForTimes(Map.of(tp, Math.max(0, millis - SKEW_MS)), Duration.ofSeconds(5)).get(tp);
    long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(5)).get(tp);
    long deadline = clock.nanos() + (fenceable ? SETTLE_SCAN_NANOS : TimeUnit.SECONDS.toNanos(3));
    if (start != null) {
      consumer.seek(tp, start.offset());
      Result r = scanTo(consumer, tp, id, millis, end, !fenceable, deadline);
      if (r != null) return r;
    }
    if (!fenceable) return new Unknown();
    // Not on the queue up to its end: append a fence, and read on up to it.
    long f = Futures.await(sender.send(InvocationCodec.fence(topic, tp.partition(), id, tenant, clock.millis())),
        writeTimeout.plusSeconds(5), "writing a fence").offset();
    consumer.seek(tp, end);
    Result r = scanTo(consumer, tp, id, millis, f + 1, false, deadline);
    if (r == null) throw new IllegalStateException("the fence was not read back");
    if (r instanceof Voided) {
      InvocationStatus v = InvocationStatus.voided(id, tenant, Instant.ofEpochMilli(millis), clock.now());
      Futures.await(store.write(v, null), writeTimeout.plusSeconds(5), "storing a voided status");
      store.apply(v, null);
    }
    return r;
  }

  /**
   * Reads from the consumer's position up to (not including) offset {@code to}: the first record
   * keyed {@code id} decides (a copy: found; a fence: {@link Voided}); null when none comes before
   * {@code to}. {@code stopEarly}: give up ({@link Unknown}) once records are well past the id's time.
   */
  private Result scanTo(KafkaConsumer<String, byte[]> consumer, TopicPartition tp, String id, long millis, long to,
      boolean stopEarly, long deadline) throws Exception {
    int scanned = 0;
    while (consumer.position(tp) < to) {
      if (clock.nanos() > deadline || (stopEarly && scanned >= MAX_SCAN)) throw new IllegalStateException("search bounds reached");
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        if (r.offset() >= to) return null;
        if (id.equals(r.key())) {
          if (InvocationCodec.fence(r.headers())) return new Voided();
          OffsetAndMetadata committed = Futures.await(admin.listConsumerGroupOffsets(dispatchGroup).partitionsToOffsetAndMetadata(),
              Duration.ofSeconds(5), "reading the dispatchers' offsets").get(tp);
          if (committed != null && r.offset() < committed.offset()) return new Finished();
          return new Queued(InvocationCodec.decode(r.headers(), null));
        }
        if (stopEarly && r.timestamp() > millis + 12 * SKEW_MS) return new Unknown();
        scanned++;
      }
    }
    return null;
  }

  @Override
  public void close() {
    reader.close();
  }
}
