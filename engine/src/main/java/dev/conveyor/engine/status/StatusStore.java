package dev.conveyor.engine.status;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.kafka.KafkaSender;
import io.vertx.core.Future;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Status and results of invocations, visible from every replica: each change after {@code queued}
 * is written to the compacted {@code conveyor.status} topic (acks=all), and every replica
 * materialises that topic and the queue's headers into a bounded Caffeine cache
 * ({@link StatusReader}). Changes are applied only as read back from Kafka, so every replica
 * applies the same changes in the same order (the one exception is {@code queued}, applied by the
 * accepting replica at once so it reads its own 202).
 *
 * <p>Updates apply in {@code version} order; a terminal status is never replaced: when a cancel
 * races the last attempt, whichever the topic holds first wins, everywhere.
 */
public final class StatusStore {
  /** Header naming the process that wrote a status record. */
  public static final String WRITER = "conveyor-writer";
  private static final int MAX_SENT = 100_000;
  /** The latest known state of one invocation. */
  public record Entry(InvocationStatus status, StoredResult result) {}

  private record IdemEntry(String id, Instant acceptedAt) {}

  private final Cache<String, Entry> entries;
  private final Cache<String, IdemEntry> idempotency;
  private final Duration idempotencyWindow;
  private final Supplier<Instant> clock;
  private final KafkaSender sender;
  private final String topic;
  /** Per tenant, the attempts other processes' status writes say are running (this process's own are not kept). */
  private final java.util.Map<String, java.util.Map<String, Running>> running = new java.util.concurrent.ConcurrentHashMap<>();
  /** Marks this process's status records ({@link #WRITER}: this, then a sequence number). */
  private final String writer = java.util.UUID.randomUUID() + "/";
  private final java.util.concurrent.atomic.AtomicLong sequence = new java.util.concurrent.atomic.AtomicLong();
  /** This process's writes on their way to the topic, by sequence number, until the reader meets them. */
  private final java.util.Map<Long, StatusCodec.Envelope> sent = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.List<java.util.function.Consumer<InvocationStatus>> terminalListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public StatusStore(long maxBytes, Duration idempotencyWindow, Supplier<Instant> clock, KafkaSender sender, String topic) {
    this.idempotencyWindow = idempotencyWindow;
    this.clock = clock;
    this.sender = sender;
    this.topic = topic;
    this.entries = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher((String k, Entry e) -> weight(e))
        .build();
    this.idempotency = Caffeine.newBuilder()
        .maximumSize(Math.max(10_000, maxBytes / 1024))
        .expireAfter(new Expiry<String, IdemEntry>() {
          @Override
          public long expireAfterCreate(String key, IdemEntry value, long currentTime) {
            return remaining(value);
          }

          @Override
          public long expireAfterUpdate(String key, IdemEntry value, long currentTime, long currentDuration) {
            return remaining(value);
          }

          @Override
          public long expireAfterRead(String key, IdemEntry value, long currentTime, long currentDuration) {
            return currentDuration;
          }
        })
        .build();
  }

  private long remaining(IdemEntry e) {
    long left = e.acceptedAt().plus(idempotencyWindow).toEpochMilli() - clock.get().toEpochMilli();
    return Duration.ofMillis(Math.max(0, left)).toNanos();
  }

  /**
   * An entry's bytes on the heap, estimated: the status record, its strings (id, tenant, namespace,
   * function, trace id, trigger), instants and boxed numbers, the cache's node (about 900 bytes);
   * each attempt in the history with its instant and numbers (about 160); the result with its body.
   * The backlog benchmark measured the former estimate (400 + 96 per attempt) at 1.75 times too
   * low: a 256 MiB bound held 440 MiB of live heap.
   */
  private static int weight(Entry e) {
    int w = 900 + e.status().history().size() * 160;
    if (e.result() != null) w += e.result().size() + 120;
    return w;
  }

  public Optional<Entry> get(String id) {
    return Optional.ofNullable(entries.getIfPresent(id));
  }

  /** The invocation an idempotency key stands for, while the dedupe window lasts. */
  public Optional<String> idempotent(String tenant, String namespace, String function, String key) {
    IdemEntry e = idempotency.getIfPresent(idemKey(tenant, namespace, function, key));
    if (e == null || e.acceptedAt().plus(idempotencyWindow).isBefore(clock.get())) return Optional.empty();
    return Optional.of(e.id());
  }

  static String idemKey(String tenant, String namespace, String function, String key) {
    return tenant + '\u0000' + namespace + '\u0000' + function + '\u0000' + key;
  }

  /** Applies a change if it is newer than what is known; returns whether it was applied. */
  public boolean apply(InvocationStatus s, StoredResult result) {
    return apply(s, result, false);
  }

  /**
   * Applies a change read from the status topic; {@code own}: this process wrote it (its running
   * attempts are counted by the dispatcher itself, so they are not kept as running elsewhere).
   */
  public boolean apply(InvocationStatus s, StoredResult result, boolean own) {
    boolean[] applied = {false};
    entries.asMap().compute(s.id(), (id, cur) -> {
      if (cur != null) {
        InvocationStatus c = cur.status();
        if (c.status().terminal()) return cur;
        if (c.version() >= s.version() && !s.status().terminal()) return cur;
      }
      applied[0] = true;
      return new Entry(s, result != null ? result : cur == null ? null : cur.result());
    });
    if (s.idempotencyKey() != null) {
      idempotency.asMap().putIfAbsent(idemKey(s.tenant(), s.namespace(), s.function(), s.idempotencyKey()),
          new IdemEntry(s.id(), s.acceptedAt()));
    }
    if (applied[0]) {
      if (s.status() == InvocationState.running && !own) {
        running.computeIfAbsent(s.tenant(), t -> new java.util.concurrent.ConcurrentHashMap<>()).put(s.id(), new Running(s.id(),
            s.namespace() + "/" + s.function(), s.history().isEmpty() ? clock.get() : s.history().get(s.history().size() - 1).startedAt()));
      } else {
        var m = running.get(s.tenant());
        if (m != null) m.remove(s.id());
      }
      if (s.status().terminal()) terminalListeners.forEach(l -> l.accept(s));
    }
    return applied[0];
  }

  /** An attempt running somewhere, as the status topic says: since when, and of which function. */
  public record Running(String id, String function, Instant since) {}

  /** The attempts of {@code tenant} running now on any replica, as far as the status topic has told. */
  public java.util.Collection<Running> running(String tenant) {
    var m = running.get(tenant);
    return m == null ? java.util.List.of() : m.values();
  }

  /** Called (on the reader's thread) with every status that becomes terminal here; must not block. */
  public void onTerminal(java.util.function.Consumer<InvocationStatus> listener) {
    terminalListeners.add(listener);
  }

  /** The status record for {@code s}, without a writer (as written by some other process). */
  public ProducerRecord<String, byte[]> record(InvocationStatus s, StoredResult result) {
    return new ProducerRecord<>(topic, s.id(), StatusCodec.encode(s, result));
  }

  /** Stores a change durably; it becomes visible when the reader applies it (milliseconds). */
  public Future<InvocationStatus> write(InvocationStatus s, StoredResult result) {
    ProducerRecord<String, byte[]> r = record(s, result);
    long seq = sequence.incrementAndGet();
    r.headers().add(WRITER, (writer + seq).getBytes(StandardCharsets.US_ASCII));
    // Kept until the reader meets it: as many as are in flight to the topic. Should the reader stall
    // (the replica is then not ready), past MAX_SENT the reader decodes instead of this growing.
    if (sent.size() < MAX_SENT) sent.put(seq, new StatusCodec.Envelope(s, result));
    return sender.send(r).map(md -> s).onFailure(err -> sent.remove(seq));
  }

  /**
   * What a record of the status topic holds: when this process wrote it, the change as it was sent
   * (no decoding: half the reader's work under load was decoding its own writes back); otherwise
   * decoded from {@code value}.
   */
  public StatusCodec.Envelope read(byte[] value, String writtenBy) throws IOException {
    if (own(writtenBy)) {
      StatusCodec.Envelope e = sent.remove(Long.parseLong(writtenBy, writer.length(), writtenBy.length(), 10));
      if (e != null) return e;
    }
    return StatusCodec.decode(value);
  }

  /** Whether a record's {@link #WRITER} header names this process. */
  public boolean own(String writtenBy) {
    return writtenBy != null && writtenBy.startsWith(writer);
  }

  public long size() {
    return entries.estimatedSize();
  }
}
