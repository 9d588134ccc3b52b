package dev.conveyor.engine.status;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.queue.InvocationCodec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

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

  private static final class NoValues implements Deserializer<byte[]> {
    @Override
    public byte[] deserialize(String topic, byte[] data) {
      return null;
    }

    @Override
    public byte[] deserialize(String topic, Headers headers, ByteBuffer data) {
      return null;
    }
  }

  private final KafkaConsumer<String, byte[]> consumer;
  private final Admin admin;
  private final String dispatchGroup;
  private final String topic;
  private final int partitions;
  private final Duration retention;
  private final Supplier<Instant> clock;
  private final ThreadPoolExecutor thread;
  private final Cache<String, Boolean> misses = Caffeine.newBuilder()
      .maximumSize(10_000).expireAfterWrite(Duration.ofSeconds(2)).build();

  public QueueLookup(KafkaClients clients, Admin admin, String dispatchGroup, String topic, int partitions, Duration retention,
      Supplier<Instant> clock) {
    this.consumer = clients.consumer("conveyor-queue-lookup", null, new NoValues(), Map.of("max.poll.records", "2000"));
    this.admin = admin;
    this.dispatchGroup = dispatchGroup;
    this.topic = topic;
    this.partitions = partitions;
    this.retention = retention;
    this.clock = clock;
    this.thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(256), r -> {
      Thread t = new Thread(r, "conveyor-queue-lookup");
      t.setDaemon(true);
      return t;
    });
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
    Context ctx = Vertx.currentContext();
    Promise<Result> promise = Promise.promise();
    try {
      thread.execute(() -> {
        Result result;
        try {
          result = scan(id, at.getAsLong());
          if (result instanceof Unknown) misses.put(id, Boolean.TRUE);
        } catch (Exception e) {
          result = null;
        }
        Result r = result;
        Runnable done = () -> {
          if (r == null) promise.fail("the queue could not be searched");
          else promise.complete(r);
        };
        if (ctx == null) done.run();
        else ctx.runOnContext(v -> done.run());
      });
    } catch (RejectedExecutionException e) {
      return Future.failedFuture(new IllegalStateException("too many lookups at once"));
    }
    return promise.future();
  }

  private Result scan(String id, long millis) throws Exception {
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

  /** Drops waiting lookups and closes the consumer on its own thread (it is not thread-safe). */
  @Override
  public void close() {
    thread.getQueue().clear();
    try {
      thread.execute(() -> consumer.close(Duration.ofSeconds(2)));
    } catch (RejectedExecutionException e) {
      // already closed
    }
    thread.shutdown();
    try {
      thread.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
