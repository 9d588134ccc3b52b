package dev.conveyor.engine.status;

import dev.conveyor.engine.time.Time;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.kafka.RecordSink;
import io.vertx.core.Future;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
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

  /**
   * What the cache holds of one invocation: one array, its status record's bytes (as on the topic)
   * behind {@link #META} bytes of what {@link #apply} compares (the version, then flags: terminal,
   * has a result), keyed by the id as a {@link java.util.UUID} ({@link #cacheKey}). With the cache
   * full (its steady state) the collector marks every entry's objects again and again: a graph of
   * some 25 objects per entry cost the drain benchmark about a quarter of the gateway's CPU. Six
   * objects (a holder record, the id string and its bytes beside the array) still cost the collector's
   * concurrent threads 11.4 ms per 1,000 invocations there; four (the map's two nodes, the UUID and
   * the array, whose bytes hold no references to follow), 7.8-9.0.
   */
  private static final int META = 9;
  private static final java.lang.invoke.VarHandle LONG_AT =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.BIG_ENDIAN);

  private final ConveyorConfig.StatusRecords form;
  private final Cache<Object, byte[]> entries;
  private final Cache<String, IdemEntry> idempotency;
  private final Duration idempotencyWindow;
  private final Time clock;
  private final RecordSink sender;
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
  /**
   * This replica's latest accepts without an idempotency key, for a lookup soon after their 202: a
   * lossy table of {@link #RECENT} slots by the id's hash, a newer accept overwriting an older one
   * (at 15,000 accepts/s it holds about the last two seconds' worth, some 8 MB). Putting every accept
   * into {@link #entries} cost a sixth of the accept path's CPU (profiled: the status encoded to
   * bytes, and a full cache evicting on every insert); a lookup the table misses finds the invocation
   * on the queue instead, and a status read from the topic is in {@link #entries}, which comes first.
   */
  private final java.util.concurrent.atomic.AtomicReferenceArray<InvocationStatus> recent =
      new java.util.concurrent.atomic.AtomicReferenceArray<>(RECENT);
  static final int RECENT = 1 << 15;
  /** One-shot waiters for one id's status ({@link #await}); empty but for a lookup or connector waiting. */
  private final java.util.Map<String, java.util.List<Waiter>> waiters = new java.util.concurrent.ConcurrentHashMap<>();

  private record Waiter(java.util.function.Predicate<InvocationStatus> until, java.util.function.Consumer<Entry> then) {}

  public StatusStore(long maxBytes, Duration idempotencyWindow, Time clock, RecordSink sender, String topic) {
    this(maxBytes, idempotencyWindow, clock, sender, topic, ConveyorConfig.StatusRecords.json);
  }

  /** {@code form}: the form this replica writes its status records in (it reads both). */
  public StatusStore(long maxBytes, Duration idempotencyWindow, Time clock, RecordSink sender, String topic, ConveyorConfig.StatusRecords form) {
    this.form = form;
    this.idempotencyWindow = idempotencyWindow;
    this.clock = clock;
    this.sender = sender;
    this.topic = topic;
    // Maintenance (eviction, the write buffer's drain) runs on the writing thread, under a lock a
    // writer only tries (it waits for it only when the write buffer is full): handing it to the common
    // pool woke a pool thread for nearly every write, and those wake-ups cost the accept path more
    // than the eviction itself (a sixth of its CPU, profiled).
    this.entries = Caffeine.newBuilder()
        .executor(Runnable::run)
        .maximumWeight(maxBytes)
        .weigher((Object k, byte[] held) -> weight(k, held))
        .build();
    this.idempotency = Caffeine.newBuilder()
        .executor(Runnable::run)
        .ticker(clock.ticker())
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
    long left = e.acceptedAt().plus(idempotencyWindow).toEpochMilli() - clock.millis();
    return Duration.ofMillis(Math.max(0, left)).toNanos();
  }

  /**
   * An entry's bytes on the heap: its array, and beside it the cache's node, the map's node and
   * table slot, and the key (a UUID; an id that is not one is kept as its string, some 60 more).
   */
  private static int weight(Object key, byte[] held) {
    return held.length + (key instanceof java.util.UUID ? 140 : 200);
  }

  /**
   * The cache's key for {@code id}: a UUID (one object of 32 bytes) when the id is one in its
   * canonical lowercase form, as every id this gateway mints is, else the id itself. The two kinds
   * never equal each other, and each id maps to one key.
   */
  static Object cacheKey(String id) {
    java.util.UUID u = dev.conveyor.engine.api.InvocationIds.uuid(id);
    return u == null ? id : u;
  }

  private static byte[] held(long version, boolean terminal, boolean hasResult, byte[] record) {
    byte[] held = new byte[META + record.length];
    LONG_AT.set(held, 0, version);
    held[8] = (byte) ((terminal ? 1 : 0) | (hasResult ? 2 : 0));
    System.arraycopy(record, 0, held, META, record.length);
    return held;
  }

  private static long version(byte[] held) {
    return (long) LONG_AT.get(held, 0);
  }

  private static boolean terminal(byte[] held) {
    return (held[8] & 1) != 0;
  }

  private static boolean hasResult(byte[] held) {
    return (held[8] & 2) != 0;
  }

  /**
   * An invocation this replica just stored without an idempotency key: its {@code queued} status,
   * seen by lookups here until a later status replaces it or a newer accept takes its slot.
   */
  public void acceptedHere(InvocationStatus queued) {
    recent.set(queued.id().hashCode() & (RECENT - 1), queued);
    if (!waiters.isEmpty() && waiters.containsKey(queued.id())) wake(queued.id());
  }

  /** The latest known state of {@code id} (decoded from the cache's bytes: a microsecond or two). */
  public Optional<Entry> get(String id) {
    byte[] h = entries.getIfPresent(cacheKey(id));
    if (h == null) {
      InvocationStatus r = recent.get(id.hashCode() & (RECENT - 1));
      return r != null && r.id().equals(id) ? Optional.of(new Entry(r, null)) : Optional.empty();
    }
    StatusCodec.Envelope e = unpack(h);
    return Optional.of(new Entry(e.status(), e.result()));
  }

  /**
   * Whether the latest known status of {@code id} is terminal: read from the cache entry's flags,
   * nothing decoded (what a delivery asks before storing its outcome, once per invocation).
   */
  public boolean isTerminal(String id) {
    byte[] h = entries.getIfPresent(cacheKey(id));
    if (h != null) return terminal(h);
    InvocationStatus r = recent.get(id.hashCode() & (RECENT - 1));
    return r != null && r.id().equals(id) && r.status().terminal();
  }

  private static StatusCodec.Envelope unpack(byte[] held) {
    try {
      return StatusCodec.decode(held, META, held.length - META);
    } catch (IOException e) {
      // Only bytes this process encoded or decoded once already are held.
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The invocation an idempotency key stands for, while the dedupe window lasts. */
  public Optional<String> idempotent(String tenant, String namespace, String function, String key) {
    IdemEntry e = idempotency.getIfPresent(idemKey(tenant, namespace, function, key));
    if (e == null || e.acceptedAt().plus(idempotencyWindow).isBefore(clock.now())) return Optional.empty();
    return Optional.of(e.id());
  }

  static String idemKey(String tenant, String namespace, String function, String key) {
    return tenant + '\u0000' + namespace + '\u0000' + function + '\u0000' + key;
  }

  /** Applies a change if it is newer than what is known; returns whether it was applied. */
  public boolean apply(InvocationStatus s, StoredResult result) {
    return apply(s, result, false, null);
  }

  /**
   * Applies a change read from the status topic; {@code own}: this process wrote it (its running
   * attempts are counted by the dispatcher itself, so they are not kept as running elsewhere);
   * {@code value}: the record's bytes, {@code s} and {@code result} encoded, or null to encode them.
   */
  public boolean apply(InvocationStatus s, StoredResult result, boolean own, byte[] value) {
    boolean[] applied = {false};
    entries.asMap().compute(cacheKey(s.id()), (id, cur) -> {
      if (cur != null) {
        if (terminal(cur)) return cur;
        if (version(cur) >= s.version() && !s.status().terminal()) return cur;
      }
      applied[0] = true;
      if (result == null && cur != null && hasResult(cur)) { // a change without a result keeps the last one
        return held(s.version(), s.status().terminal(), true, StatusCodec.encode(form, s, unpack(cur).result()));
      }
      return held(s.version(), s.status().terminal(), result != null, value != null ? value : StatusCodec.encode(form, s, result));
    });
    if (s.idempotencyKey() != null) {
      idempotency.asMap().putIfAbsent(idemKey(s.tenant(), s.namespace(), s.function(), s.idempotencyKey()),
          new IdemEntry(s.id(), s.acceptedAt()));
    }
    if (applied[0]) {
      if (s.status() == InvocationState.running && !own) {
        running.computeIfAbsent(s.tenant(), t -> new java.util.concurrent.ConcurrentHashMap<>()).put(s.id(), new Running(s.id(),
            s.namespace() + "/" + s.function(), s.history().isEmpty() ? clock.now() : s.history().get(s.history().size() - 1).startedAt()));
      } else {
        var m = running.get(s.tenant());
        if (m != null) m.remove(s.id());
      }
      if (s.status().terminal()) terminalListeners.forEach(l -> l.accept(s));
      if (!waiters.isEmpty() && waiters.containsKey(s.id())) wake(s.id());
    }
    return applied[0];
  }

  /**
   * Calls {@code then} once, on the thread that applies it (the reader's or a writer's), with the
   * entry of {@code id} as soon as its status satisfies {@code until}: at once if it does already.
   * The returned handle forgets the waiter (a caller that gave up must call it); it must not block.
   */
  public Runnable await(String id, java.util.function.Predicate<InvocationStatus> until, java.util.function.Consumer<Entry> then) {
    Waiter w = new Waiter(until, then);
    waiters.computeIfAbsent(id, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(w);
    wake(id); // it may have been applied before the waiter was in place
    return () -> forget(id, w);
  }

  private void wake(String id) {
    java.util.List<Waiter> ws = waiters.get(id);
    if (ws == null) return;
    Optional<Entry> e = get(id);
    if (e.isEmpty()) return;
    for (Waiter w : ws) {
      if (w.until().test(e.get().status()) && ws.remove(w)) w.then().accept(e.get());
    }
    waiters.computeIfPresent(id, (k, l) -> l.isEmpty() ? null : l);
  }

  private void forget(String id, Waiter w) {
    waiters.computeIfPresent(id, (k, l) -> {
      l.remove(w);
      return l.isEmpty() ? null : l;
    });
  }

  /** An attempt running somewhere, as the status topic says: since when, and of which function. */
  public record Running(String id, String function, Instant since) {}

  /** The attempts of {@code tenant} running now on any replica, as far as the status topic has told. */
  public java.util.Collection<Running> running(String tenant) {
    var m = running.get(tenant);
    return m == null ? java.util.List.of() : m.values();
  }

  /** Whether the status topic shows {@code id} running on another process (its outcome not read yet). */
  public boolean runningElsewhere(String tenant, String id) {
    var m = running.get(tenant);
    return m != null && m.containsKey(id);
  }

  /** Called (on the reader's thread) with every status that becomes terminal here; must not block. */
  public void onTerminal(java.util.function.Consumer<InvocationStatus> listener) {
    terminalListeners.add(listener);
  }

  /**
   * The status record for {@code s}, without a writer (as written by some other process). A terminal
   * status goes under the id; any other under the id plus {@link #PROGRESS_SUFFIX}. Compaction keeps
   * the latest record of each key, and which of two writers' records comes last is a race (a cancel
   * stored while an attempt ends and its retrying status is written): under one key, a retrying
   * status could be all that a restarted replica reads of a cancelled invocation. Under two keys the
   * terminal status is always kept, and it wins over any other whatever the order it is read in.
   */
  public ProducerRecord<String, byte[]> record(InvocationStatus s, StoredResult result) {
    return new ProducerRecord<>(topic, s.status().terminal() ? s.id() : s.id() + PROGRESS_SUFFIX, StatusCodec.encode(form, s, result));
  }

  /** The record key of a status that is not terminal: the id and this suffix ({@link #record}). */
  public static final String PROGRESS_SUFFIX = "/progress";

  /** The record key of an accept's own {@code queued} status ({@link #writeAccepted}): the id and this suffix. */
  public static final String ACCEPTED_SUFFIX = "/accepted";

  /**
   * Stores the {@code queued} status an accept writes (with an idempotency key, so that every replica
   * learns the key) under a record key of its own: the id plus {@link #ACCEPTED_SUFFIX}. The reader
   * keys the cache by the status's id, not the record's key, so it applies alike; but compaction keeps
   * this record beside the id's own latest one instead of in its place. A retry of the key stores
   * its copy and this status again after the first copy may have ended: under the id's key, the later
   * {@code queued} would be the one compaction kept, and a replica replaying the topic would show an
   * ended invocation queued.
   */
  public Future<InvocationStatus> writeAccepted(InvocationStatus queued) {
    return write(new ProducerRecord<>(topic, queued.id() + ACCEPTED_SUFFIX, StatusCodec.encode(form, queued, null)), queued, null, sender);
  }

  /**
   * Stores a change durably; it shows, here and on other replicas, once their reader applies it (a
   * fetch waits up to 100 ms: {@link StatusReader}). Applying it here on the broker's acknowledgement
   * as well cost the drain a fifth of its rate (7,285 → 5,821 invocations/s): the status cache's
   * work moved onto the dispatcher's event loop.
   */
  public Future<InvocationStatus> write(InvocationStatus s, StoredResult result) {
    return write(s, result, sender);
  }

  /**
   * The same through {@code via}: a producer that lingers, for statuses nobody waits on (a sync
   * call's: its caller has the answer), which then share the broker's requests with other records.
   */
  public Future<InvocationStatus> write(InvocationStatus s, StoredResult result, RecordSink via) {
    return write(record(s, result), s, result, via);
  }

  private Future<InvocationStatus> write(ProducerRecord<String, byte[]> r, InvocationStatus s, StoredResult result, RecordSink via) {
    long seq = sequence.incrementAndGet();
    r.headers().add(WRITER, (writer + seq).getBytes(StandardCharsets.US_ASCII));
    // Kept until the reader meets it: as many as are in flight to the topic. Should the reader stall
    // (the replica is then not ready), past MAX_SENT the reader decodes instead of this growing.
    if (sent.size() < MAX_SENT) sent.put(seq, new StatusCodec.Envelope(s, result));
    return via.send(r).map(md -> s).onFailure(err -> sent.remove(seq));
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
