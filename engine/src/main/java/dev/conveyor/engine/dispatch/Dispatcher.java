package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.consume.BoundedConsumer;
import dev.conveyor.engine.consume.OffsetTracker;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.dispatch.FairScheduler.Job;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.queue.InvocationCodec;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code conveyor.invocations} in the dispatch consumer group and runs each invocation
 * through the {@link InvocationRunner} when the {@link FairScheduler} gives it a slot: at most
 * {@code maxInFlight} at once on this replica, at most the tenant's {@code maxConcurrency} and the
 * function's {@code concurrency}, weighted-fair between tenants.
 *
 * <p>Limits across replicas: a tenant's invocations are in its lanes, one queue partition each
 * ({@code Placement}), and the owner of a lane runs them with the lane's share of the tenant's
 * {@code maxConcurrency} ({@link LaneShares}), counting locally; a tenant with one lane has its whole
 * limit on one replica. During a rebalance, attempts the status topic shows running on another
 * replica in the partitions owned here count against the tenant too (until they end, or for the
 * function's timeout plus 10 s if that replica died), and a newly gained partition waits until the
 * previous owner's attempts are visible there.
 *
 * <p>Records that cannot start yet wait in memory, each partition's at most {@code maxWaiting}:
 * above it that partition alone pauses, so a tenant flooding its partition never holds up records
 * of other partitions. Offsets are committed only up to the lowest record whose outcome is not yet
 * stored ({@link OffsetTracker}), whatever order records finish in, so a crash redelivers
 * everything unfinished and nothing finished is lost. A retry forwarded from a tier before it is
 * due waits on a timer, holding no slot.
 */
public final class Dispatcher extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
  private static final Duration STALE_MARGIN = Duration.ofSeconds(10);
  /** How long a status takes to be stored and read back by the other replicas, with room to spare. */
  public static final Duration STATUS_READ_BACK = Duration.ofMillis(250);

  /** One invocation held here, from its record's arrival until its run ends. */
  private record Held(Invocation inv, OffsetTracker.Slot slot, int attempt, long dueAt, TopicPartition tp, int epoch,
      Metrics.Lane lane, boolean stray) {}

  private final Map<String, String> consumerConfig;
  private final String topic;
  private final int maxInFlight;
  private final int maxWaiting;
  private final InvocationRunner runner;
  private final Metrics metrics;
  private final StatusStore store;
  private final FairScheduler.Limits limits;
  private final SyncSlots syncSlots;
  private final Function<String, Integer> tenantMax;
  private final LaneShares shares;
  /** Tenants whose share gauge is registered. */
  private final Set<String> shareShown = new HashSet<>();
  private final Function<String, Integer> functionMax;
  private final Function<String, Duration> timeout;
  /** A function's memory (MiB), by "namespace/name"; 0 when unknown. */
  private final Function<String, Integer> memoryOf;
  private final Time clock;
  /**
   * Ids whose records this replica holds (waiting or running; a count, as a retry and a first copy may
   * both be here), and, for a minute, those that ended here while the status topic still showed them
   * running on another process (our outcome may still be on its way): that "running" is not another
   * replica's.
   */
  private final Map<String, Integer> here = new HashMap<>();
  /** Records waiting on a timer (a retry not yet due, a partition just gained), with the timer's id. */
  private final Map<Held, Long> timed = new java.util.IdentityHashMap<>();
  private final Cache<String, Boolean> ranHere;
  /**
   * Ids whose first copies this replica drops, and why: {@link Drop#FENCED}, fenced before any copy of
   * them came (see {@link #fenced}; their status says so too, once stored), kept until the size bound
   * evicts them; {@link Drop#KEYED_ENDED}, derived from an idempotency key and ended here in the last
   * 30 s. Copies of those are expected (every retry of the key stores one), and one read between the
   * end's write and its reading back from the status topic would run again. One cache, so a record
   * costs one lookup.
   */
  private final Cache<String, Drop> dropCopies;

  private enum Drop {
    FENCED(Duration.ofDays(365)),
    KEYED_ENDED(Duration.ofSeconds(30));

    final Duration keptFor;

    Drop(Duration keptFor) {
      this.keptFor = keptFor;
    }
  }

  /** Bumped when a partition is revoked: timers of an older assignment do nothing. */
  private final Map<Integer, Integer> epochs = new HashMap<>();
  private FairScheduler<Held> scheduler;
  /** Tenants whose oldest-waiting gauge was set: reset to 0 when none of theirs waits. */
  private final Set<String> waitedBefore = new HashSet<>();
  private long repump = -1;
  private BoundedConsumer consumer;

  /**
   * @param tenantMax the tenant's {@code maxConcurrency}, {@code weight} its share; {@code functionMax}
   *     a function's {@code concurrency} and {@code timeout} its delivery timeout, by "namespace/name"
   */
  public Dispatcher(Map<String, String> consumerConfig, String topic, int maxInFlight, int maxWaiting, InvocationRunner runner,
      Metrics metrics, StatusStore store, Function<String, Integer> tenantMax, Function<String, Integer> weight,
      Function<String, Integer> functionMax, Function<String, Duration> timeout, Time clock, SyncSlots syncSlots,
      Function<String, dev.conveyor.engine.tenancy.Lanes> lanes, int partitions, Duration handoverHold,
      Function<String, Integer> memoryOf) {
    this.ranHere = Caffeine.newBuilder().ticker(clock.ticker()).expireAfterWrite(Duration.ofMinutes(1)).build();
    this.dropCopies = Caffeine.newBuilder()
        .executor(Runnable::run) // maintenance on the dispatcher's thread: no pool wake-up per record
        .ticker(clock.ticker())
        .maximumSize(300_000)
        .expireAfter(com.github.benmanes.caffeine.cache.Expiry.<String, Drop>creating((id, why) -> why.keptFor))
        .build();
    this.consumerConfig = consumerConfig;
    this.topic = topic;
    this.maxInFlight = maxInFlight;
    this.maxWaiting = maxWaiting;
    this.runner = runner;
    this.metrics = metrics;
    this.store = store;
    this.clock = clock;
    this.syncSlots = syncSlots;
    this.tenantMax = tenantMax;
    this.shares = new LaneShares(lanes, partitions, handoverHold.toMillis());
    this.functionMax = functionMax;
    this.timeout = timeout;
    this.memoryOf = memoryOf;
    this.limits = new FairScheduler.Limits() {
      @Override
      public int tenantMax(String tenant) {
        return shares.tenantMax(tenant);
      }

      @Override
      public int weight(String tenant) {
        return weight.apply(tenant);
      }

      @Override
      public int functionMax(String function) {
        return Math.max(0, functionMax.apply(function) - syncSlots.runningFunction(function));
      }

      @Override
      public int elsewhere(String tenant) {
        // Sync callers waiting for the tenant get the next slot: they hold a connection open.
        return statusElsewhere(tenant, true) + syncSlots.running(tenant) + (syncSlots.waitingForTenant(tenant) ? 1 : 0);
      }

      @Override
      public long tenantMemory(String tenant) {
        return shares.tenantMemory(tenant);
      }

      @Override
      public long memoryElsewhere(String tenant) {
        return statusMemoryElsewhere(tenant, true) + syncSlots.memory(tenant) + syncSlots.waitingMemory(tenant);
      }
    };
  }

  /** The sync calls' view of this ledger: the limits and the async attempts here and elsewhere. */
  public SyncSlots.Ledger ledger() {
    return new SyncSlots.Ledger() {
      @Override
      public int tenantMax(String tenant) {
        return tenantMax.apply(tenant);
      }

      @Override
      public int functionMax(String function) {
        return functionMax.apply(function);
      }

      @Override
      public int asyncRunning(String tenant) {
        return scheduler == null ? 0 : scheduler.running(tenant);
      }

      @Override
      public int asyncRunningFunction(String function) {
        return scheduler == null ? 0 : scheduler.runningFunction(function);
      }

      @Override
      public int elsewhere(String tenant) {
        return statusElsewhere(tenant, false);
      }

      @Override
      public long tenantMemory(String tenant) {
        return shares.lanes(tenant).maxMemoryMiB();
      }

      @Override
      public long asyncMemory(String tenant) {
        return scheduler == null ? 0 : scheduler.memory(tenant);
      }

      @Override
      public long memoryElsewhere(String tenant) {
        return statusMemoryElsewhere(tenant, false);
      }
    };
  }

  /** The memory (MiB) of the attempts {@link #statusElsewhere} counts. */
  private long statusMemoryElsewhere(String tenant, boolean ownedOnly) {
    Instant now = clock.now();
    long mib = 0;
    for (StatusStore.Running r : store.running(tenant)) {
      if (elsewhere(tenant, r, ownedOnly, now)) mib += memoryOf.apply(r.function());
    }
    return mib;
  }

  /**
   * Attempts and sync calls of the tenant the status topic shows running on other processes; with
   * {@code ownedOnly}, only those counting against this replica's lanes ({@link LaneShares#countsHere}).
   */
  private int statusElsewhere(String tenant, boolean ownedOnly) {
    Instant now = clock.now();
    int n = 0;
    for (StatusStore.Running r : store.running(tenant)) {
      if (elsewhere(tenant, r, ownedOnly, now)) n++;
    }
    return n;
  }

  private boolean elsewhere(String tenant, StatusStore.Running r, boolean ownedOnly, Instant now) {
    // Not another replica's if its record is in this replica's hands (waiting or running here, or
    // ended here lately): after a restart, the attempts the previous process was running are
    // replayed here, and their old "running" must not hold the slots they need to run again.
    if (here.containsKey(r.id()) || ranHere.getIfPresent(r.id()) != null) return false;
    if (ownedOnly && !shares.countsHere(tenant, r.id())) return false;
    return r.since().plus(timeout.apply(r.function())).plus(STALE_MARGIN).isAfter(now);
  }

  @Override
  public Future<?> start() {
    scheduler = new FairScheduler<>(limits);
    syncSlots.bind(context, ledger(), this::pump); // sync calls are decided here too: one ledger
    KafkaConsumer<String, byte[]> kafka = KafkaConsumer.create(vertx, consumerConfig);
    metrics.kafkaClient(kafka.unwrap()); // kafka_consumer_* (lag included) in /metrics
    // The in-flight bound is the scheduler's; the consumer only counts running work for the drain.
    consumer = new BoundedConsumer(clock, kafka, Integer.MAX_VALUE, LOG);
    consumer.onRevoked(this::revoked);
    consumer.onAssigned(parts -> shares.assigned(parts.stream().map(TopicPartition::getPartition).toList(), clock.millis()));
    // Slots held by attempts on other replicas free up without any event here (their end arrives
    // on the status reader's thread): look again twice a second while records wait.
    repump = clock.setPeriodic(500, () -> {
      if (scheduler.waiting() > 0) pump();
      measureOldestWaiting();
    });
    return consumer.subscribe(topic, this::onRecord);
  }

  /**
   * {@code conveyor_queue_oldest_waiting_seconds{tenant}}: the age of each tenant's oldest invocation
   * waiting here for a slot, from its acceptance (a retry: from when it fell due); 0 once none waits.
   */
  private void measureOldestWaiting() {
    long now = clock.millis();
    Map<String, Long> oldest = scheduler.oldestWaiting(h -> h.attempt() > 0 && h.dueAt() > 0 ? h.dueAt()
        : h.inv().acceptedAt().toEpochMilli());
    for (String tenant : waitedBefore) {
      if (!oldest.containsKey(tenant)) metrics.oldestWaiting(tenant).set(0);
    }
    oldest.forEach((tenant, since) -> metrics.oldestWaiting(tenant).set(Math.max(0, now - since)));
    waitedBefore.addAll(oldest.keySet());
  }

  private void onRecord(KafkaConsumerRecord<String, byte[]> rec) {
    OffsetTracker.Slot slot = consumer.track(rec);
    // Read again after a rebalance gave its partition straight back. If it ran to its end here (its
    // id left `here` when it ended, and its outcome shows in the store only once read back from the
    // status topic), running it would call the function twice; if it is still running here, its
    // outcome is that run's, and this offset must wait for it like the one it had.
    OffsetTracker.Slot before = consumer.before(rec);
    if (before != null && !before.abandoned()) {
      before.then(slot::done);
      return;
    }
    if (InvocationCodec.fence(rec.record().headers())) {
      fenced(rec, slot);
      return;
    }
    Invocation inv;
    try {
      inv = InvocationCodec.decode(rec.record());
    } catch (RuntimeException e) {
      LOG.warn("skipping a record that is not an invocation at {}-{}@{}", rec.topic(), rec.partition(), rec.offset());
      slot.done();
      return;
    }
    // A retry forwarded from a retry tier says which attempt it is for and when it is due.
    int attempt = (int) InvocationCodec.number(rec.record().headers(), InvocationCodec.ATTEMPT, 0);
    long dueAt = InvocationCodec.number(rec.record().headers(), InvocationCodec.DUE_AT, 0);
    // A second copy of an invocation held here (a replayed submission stored it again; one id is
    // always one partition, so one replica) is dropped: the copy in hand brings it to its end, and
    // holds its own offset uncommitted until it does.
    if (attempt == 0 && here.containsKey(inv.id())) {
      slot.done();
      return;
    }
    // A copy that comes after its id's fence was never stored: its client was told so (or will be).
    // A copy of a keyed id that just ended here: its terminal status may not be read back yet.
    if (attempt == 0 && dropCopies.getIfPresent(inv.id()) != null) {
      slot.done();
      return;
    }
    here.merge(inv.id(), 1, Integer::sum);
    TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
    int lane = shares.laneOf(inv.tenant(), rec.partition());
    if (lane < 0) shares.stray(inv.tenant(), 1);
    if (shareShown.add(inv.tenant())) metrics.limitShare(inv.tenant(), () -> shares.share(inv.tenant()));
    String function = inv.namespace() + "/" + inv.function();
    Job<Held> job = new Job<>(inv.tenant(), function, rec.partition(),
        new Held(inv, slot, attempt, dueAt, tp, epochs.getOrDefault(rec.partition(), 0), metrics.lane(inv.tenant(), lane), lane < 0),
        shares.lanes(inv.tenant()).maxMemoryMiB() == 0 ? 0 : memoryOf.apply(function)); // a lookup only where memory is limited
    job.value().lane().backlog().incrementAndGet();
    // Due now, unless a retry not yet due, or its partition was just gained (the previous owner's
    // attempts are not all visible yet).
    long wait = Math.max(dueAt, shares.heldUntil(rec.partition())) - clock.millis();
    if (wait > 0) {
      Held held = job.value();
      timed.put(held, clock.setTimer(wait, () -> {
        timed.remove(held);
        if (current(held)) offer(job);
        else forget(held);
      }));
    } else {
      offer(job);
    }
  }

  /**
   * A fence for an id: if no copy of the invocation came before it on this partition (none is held
   * here, and no status of it is known, which its run would have written), the id is void: its
   * {@code voided} status is stored, and every later copy is dropped. The fence's offset is not
   * committed before that status is stored, so a restart finds one or the other. The lookup that
   * wrote the fence reaches the same verdict by reading the partition up to it.
   */
  private void fenced(KafkaConsumerRecord<String, byte[]> rec, OffsetTracker.Slot slot) {
    String id = rec.key();
    if (id == null || !dev.conveyor.engine.api.InvocationIds.fenceable(id) || here.containsKey(id)) {
      slot.done();
      return;
    }
    var known = store.get(id);
    if (known.isPresent()) { // it ran (so it came first), or the lookup that fenced it stored the verdict already
      if (known.get().status().status() == dev.conveyor.engine.api.InvocationState.voided) dropCopies.put(id, Drop.FENCED);
      slot.done();
      return;
    }
    var h = rec.record().headers().lastHeader(InvocationCodec.FENCE);
    String tenant = h == null || h.value() == null ? "" : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
    dropCopies.put(id, Drop.FENCED);
    consumer.begin();
    runner.voided(id, tenant).onComplete(ar -> consumer.end(slot, ar.succeeded()));
  }

  private boolean current(Held h) {
    return !consumer.stopping() && epochs.getOrDefault(h.tp().getPartition(), 0) == h.epoch();
  }

  private void offer(Job<Held> job) {
    scheduler.offer(job);
    if (scheduler.waiting(job.partition()) >= maxWaiting) consumer.pause(job.value().tp());
    pump();
  }

  private void pump() {
    if (consumer.stopping()) return;
    for (Job<Held> job : scheduler.next(maxInFlight)) start(job);
  }

  private void start(Job<Held> job) {
    Held h = job.value();
    Invocation inv = h.inv();
    consumer.begin();
    var tenantInflight = metrics.inflight(inv.tenant());
    tenantInflight.incrementAndGet();
    h.lane().backlog().decrementAndGet();
    h.lane().inflight().incrementAndGet();
    var memory = job.memoryMiB() > 0 ? metrics.memoryInFlight(inv.tenant()) : null;
    if (memory != null) memory.addAndGet(job.memoryMiB());
    runner.run(inv, h.attempt(), h.dueAt()).onComplete(ar -> {
      if (memory != null) memory.addAndGet(-job.memoryMiB());
      scheduler.finished(job);
      syncSlots.freed(); // a waiting sync caller first
      release(inv.id());
      h.lane().inflight().decrementAndGet();
      if (h.stray()) shares.stray(inv.tenant(), -1);
      // Only an id the status topic still shows running elsewhere (a previous process's attempt,
      // replayed here) needs remembering until our outcome reaches the reader; keeping every id
      // for a minute held some 400,000 entries at 7,000/s, a fifth of the live heap.
      if (store.runningElsewhere(inv.tenant(), inv.id())) ranHere.put(inv.id(), Boolean.TRUE);
      if (ar.succeeded() && h.attempt() == 0 && dev.conveyor.engine.api.InvocationIds.derived(inv.id())) {
        dropCopies.put(inv.id(), Drop.KEYED_ENDED);
      }
      tenantInflight.decrementAndGet();
      // Failed only while stopping: the outcome is not stored, so the offset must not move past it.
      if (ar.failed()) LOG.warn("invocation {} left unfinished: {}", inv.id(), ar.cause().toString());
      consumer.end(h.slot(), ar.succeeded());
      if (scheduler.waiting(job.partition()) <= maxWaiting / 2) consumer.resume(h.tp());
      pump();
    });
  }

  /** Records of partitions another replica now owns are not started here: it reads them again. */
  private void revoked(Set<TopicPartition> parts) {
    Set<Integer> numbers = new HashSet<>();
    for (TopicPartition tp : parts) {
      numbers.add(tp.getPartition());
      epochs.merge(tp.getPartition(), 1, Integer::sum);
    }
    shares.revoked(numbers);
    for (Job<Held> dropped : scheduler.drop(numbers)) {
      forget(dropped.value());
    }
    // Those waiting on a timer too, now: the partition may come straight back and be read again
    // before their timers would have fired.
    for (var it = timed.entrySet().iterator(); it.hasNext();) {
      var e = it.next();
      if (!numbers.contains(e.getKey().tp().getPartition())) continue;
      clock.cancelTimer(e.getValue());
      forget(e.getKey());
      it.remove();
    }
  }

  /** A record held here that will not start here (its partition moved): it no longer waits. */
  private void forget(Held h) {
    h.slot().abandon();
    release(h.inv().id());
    h.lane().backlog().decrementAndGet();
    if (h.stray()) shares.stray(h.inv().tenant(), -1);
  }

  private void release(String id) {
    here.computeIfPresent(id, (k, n) -> n > 1 ? n - 1 : null);
  }

  /** Drains: stops taking records, waits for running invocations (bounded), commits, closes. */
  @Override
  public Future<?> stop() {
    clock.cancelTimer(repump);
    return consumer.stop(runner::stop, 25_000);
  }
}
