package dev.conveyor.engine.dispatch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.attempt.AttemptPath;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import dev.conveyor.engine.consume.Backoff;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.functions.Serving;
import dev.conveyor.engine.kafka.Topics;
import dev.conveyor.engine.limit.FunctionCapacity;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.observability.Tracing;
import dev.conveyor.engine.queue.InvocationCodec;
import dev.conveyor.engine.status.StatusCodec;
import dev.conveyor.engine.status.StatusStore;
import dev.conveyor.engine.testing.ManualTime;
import dev.conveyor.engine.testing.RecordLog;
import dev.conveyor.engine.testing.ScriptedInvoker;
import io.vertx.core.Future;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.DoubleSupplier;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The delivery core with nothing real around it but code: an {@link InvocationRunner} over a
 * {@link ManualTime}, a {@link RecordLog} for Kafka (the status topic read back into a real
 * {@link StatusStore}), a {@link ScriptedInvoker} for the function, and the real attempt path,
 * breakers, usage emitter and function registry. {@link #deliver} plays the dispatcher and the retry
 * router: it runs the record the client's 202 stored, then every retry parked on a tier when it comes
 * due, until nothing is left.
 */
final class DeliveryHarness {
  static final ObjectMapper JSON = new ObjectMapper();

  final ManualTime time = new ManualTime();
  final Topics topics = Topics.of("t.");
  final RecordLog kafka = new RecordLog(topics.status());
  final StatusStore store = new StatusStore(64L << 20, Duration.ofHours(24), time, kafka, topics.status());
  final ScriptedInvoker function = new ScriptedInvoker(time);
  final Metrics metrics = new Metrics();
  final Breakers breakers = new Breakers(metrics.registry(), time);
  /** What the registry finds for {@code acme/resize}; null: the function is no longer configured. */
  volatile FunctionTarget target;
  final InvocationRunner runner;
  /** Sync calls over the same function, store and Kafka; their slots decided at once on the caller's thread. */
  final SyncCalls sync;
  final SyncSlots slots;
  /** The tenant's {@code maxConcurrency} as the sync slots see it. */
  volatile int tenantMax = 10;
  private int tierRead;

  DeliveryHarness(Delivery delivery) {
    this(delivery, new BreakerSpec(50, 20, Duration.ofSeconds(30)), Duration.ZERO, () -> 1.0);
  }

  /** @param jitter the backoff's draw in [0, 1] (1: the ceiling, what the tests below count on unless they say) */
  DeliveryHarness(Delivery delivery, BreakerSpec breaker, Duration runningStatusAfter, DoubleSupplier jitter) {
    kafka.readStatusInto(store);
    target = new FunctionTarget("acme", "resize", URI.create("http://resize.acme.svc"), 256, 10, delivery, breaker, null, null);
    FunctionRegistry registry = new FunctionRegistry(List.of(),
        (ns, fn) -> Optional.ofNullable(target).filter(t -> t.namespace().equals(ns) && t.name().equals(fn)));
    runner = InvocationRunner.builder().time(time).store(store).sink(kafka, topics).functions(registry)
        .attempts(new AttemptPath(registry, function, new FunctionCapacity(), metrics, Tracing.off(), time))
        .breakers(breakers).usage(new UsageEmitter(kafka, topics.usage(), "//conveyor/test", 100))
        .observability(metrics, Tracing.off()).backoff(new Backoff(jitter)).runningStatusAfter(runningStatusAfter).build();
    slots = new SyncSlots(time);
    slots.bind(Runnable::run, new SyncSlots.Ledger() {
      @Override
      public int tenantMax(String tenant) {
        return tenantMax;
      }

      @Override
      public int functionMax(String function) {
        return Integer.MAX_VALUE;
      }

      @Override
      public int asyncRunning(String tenant) {
        return 0;
      }

      @Override
      public int asyncRunningFunction(String function) {
        return 0;
      }

      @Override
      public int elsewhere(String tenant) {
        return 0;
      }
    }, () -> {});
    sync = new SyncCalls(new AttemptPath(registry, function, new FunctionCapacity(), metrics, Tracing.off(), time), registry,
        new UsageEmitter(kafka, topics.usage(), "//conveyor/test", 100), breakers, metrics, time, slots, store, kafka,
        runningStatusAfter, new Backoff(jitter));
  }

  static Delivery delivery(int retry, Duration backoffDelay) {
    Delivery d = ConfigLoader.defaultDelivery();
    return new Delivery(retry, d.backoffPolicy(), backoffDelay, d.backoffMax(), d.maxEventAge(), d.timeout(), d.platformRetries(),
        d.retryOnStatus(), d.deadLetter(), d.onSuccess(), d.onFailure());
  }

  /** Retry 2, backoff 100 ms to 1 s, timeout 30 s, a platform budget of {@code platformRetries}, 503 retried. */
  static Delivery platformBudget(int platformRetries) {
    return new Delivery(2, dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy.exponential, Duration.ofMillis(100),
        Duration.ofSeconds(1), Duration.ofHours(6), Duration.ofSeconds(30), platformRetries, java.util.Set.of(503), null, null, null);
  }

  /** The function as a Knative revision: {@code ready} replicas now (0: scaled to zero), timeoutSeconds 300. */
  void knative(int ready) {
    FunctionTarget t = target;
    target = new FunctionTarget(t.namespace(), t.name(), t.url(), t.memoryMiB(), t.concurrency(), t.delivery(), t.breaker(),
        "resize-00001", ready, new Serving(10, 0, 300_000, null, List.of(), null));
  }

  Invocation invocation() {
    return invocation(null);
  }

  Invocation invocation(String callbackUrl) {
    return new Invocation(InvocationIds.next(time.millis()), "acme", "acme", "resize", "application/json", "{}".getBytes(), null,
        Map.of(), time.now(), null, null, callbackUrl, null);
  }

  /** Runs the queue's record of {@code inv}, then its parked retries as they come due, until nothing is left. */
  InvocationStatus deliver(Invocation inv) {
    return settle(runner.run(inv, 0, 0), inv);
  }

  /** Completes {@code running}, then runs every retry parked meanwhile, as the retry router hands them back. */
  InvocationStatus settle(Future<Void> running, Invocation inv) {
    Future<Void> f = running;
    for (int rounds = 0; rounds < 1000; rounds++) {
      if (!time.runAll(100_000)) throw new AssertionError("timers never stop");
      if (!f.isComplete()) throw new AssertionError("the runner waits on nothing a timer or a send will complete");
      if (f.failed()) throw new AssertionError("the runner failed", f.cause());
      ProducerRecord<String, byte[]> parked = nextParked();
      if (parked == null) return status(inv.id());
      f = runner.run(InvocationCodec.decode(parked.headers(), parked.value()), attempt(parked), dueAt(parked));
    }
    throw new AssertionError("more than 1000 retries");
  }

  /** The next record parked on a retry tier that the harness has not handed back yet. */
  ProducerRecord<String, byte[]> nextParked() {
    List<ProducerRecord<String, byte[]>> all = kafka.all();
    for (; tierRead < all.size(); tierRead++) {
      ProducerRecord<String, byte[]> r = all.get(tierRead);
      if (topics.tier(r.topic()).isPresent()) {
        tierRead++;
        return r;
      }
    }
    return null;
  }

  static int attempt(ProducerRecord<String, byte[]> r) {
    return Integer.parseInt(RecordLog.header(r, InvocationCodec.ATTEMPT));
  }

  static long dueAt(ProducerRecord<String, byte[]> r) {
    return Long.parseLong(RecordLog.header(r, InvocationCodec.DUE_AT));
  }

  InvocationStatus status(String id) {
    return store.get(id).orElseThrow().status();
  }

  /** Every status record written for {@code id}, in order, under whichever of its keys. */
  List<InvocationStatus> statusRecords(String id) {
    return statusRecords(id, null);
  }

  /** Those written under record key {@code key} alone (null: any key of the id). */
  List<InvocationStatus> statusRecords(String id, String key) {
    List<InvocationStatus> out = new ArrayList<>();
    for (ProducerRecord<String, byte[]> r : kafka.on(topics.status())) {
      if (key != null && !key.equals(r.key())) continue;
      try {
        InvocationStatus s = StatusCodec.decode(r.value()).status();
        if (id.equals(s.id())) out.add(s);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  /**
   * What a replica that starts now would read of {@code id} from the compacted status topic: the last
   * record of each of its keys, applied in any order (here: the order of the keys' last records
   * reversed, the worst case for a store that let a later record win).
   */
  InvocationStatus afterCompaction(String id) {
    java.util.LinkedHashMap<String, ProducerRecord<String, byte[]>> last = new java.util.LinkedHashMap<>();
    for (ProducerRecord<String, byte[]> r : kafka.on(topics.status())) {
      if (r.key().equals(id) || r.key().startsWith(id + "/")) {
        last.remove(r.key());
        last.put(r.key(), r);
      }
    }
    StatusStore fresh = new StatusStore(64L << 20, Duration.ofHours(24), time, kafka, topics.status());
    List<ProducerRecord<String, byte[]>> kept = new ArrayList<>(last.values());
    java.util.Collections.reverse(kept);
    for (ProducerRecord<String, byte[]> r : kept) {
      try {
        var e = StatusCodec.decode(r.value());
        fresh.apply(e.status(), e.result(), false, r.value());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return fresh.get(id).orElseThrow().status();
  }

  /** The usage records of {@code id}, as the CloudEvents billing reads. */
  List<JsonNode> usage(String id) {
    List<JsonNode> out = new ArrayList<>();
    for (ProducerRecord<String, byte[]> r : kafka.on(topics.usage())) {
      try {
        JsonNode ce = JSON.readTree(r.value());
        if (id.equals(ce.path("data").path("invocationId").asText())) out.add(ce);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  List<ProducerRecord<String, byte[]>> deadLetters() {
    return kafka.on(topics.deadletter());
  }
}
