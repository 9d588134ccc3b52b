package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.queue.InvocationCodec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes {@code conveyor.invocations} in the dispatch consumer group and hands each record to
 * the {@link InvocationRunner}. At most {@code maxInFlight} invocations run at once: above that the
 * consumer is paused, below half of it resumed (back-pressure, not buffering). Offsets are
 * committed only up to the lowest record whose outcome is not yet stored ({@link OffsetTracker}),
 * so a crash redelivers everything unfinished and nothing finished is lost.
 */
public final class Dispatcher extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

  private final Map<String, String> consumerConfig;
  private final String topic;
  private final int maxInFlight;
  private final InvocationRunner runner;
  private final Metrics metrics;
  private final Commits commits = new Commits();
  private KafkaConsumer<String, byte[]> consumer;
  private int inFlight;
  private boolean paused;
  private boolean stopping;
  private long commitTimer;
  private Promise<Void> drained;

  public Dispatcher(Map<String, String> consumerConfig, String topic, int maxInFlight, InvocationRunner runner, Metrics metrics) {
    this.consumerConfig = consumerConfig;
    this.topic = topic;
    this.maxInFlight = maxInFlight;
    this.runner = runner;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    consumer = KafkaConsumer.create(vertx, consumerConfig);
    metrics.kafkaClient(consumer.unwrap()); // kafka_consumer_* (lag included) in /metrics
    consumer.handler(this::onRecord);
    consumer.exceptionHandler(err -> LOG.warn("dispatch consumer: {}", err.toString()));
    consumer.partitionsRevokedHandler(parts -> {
      commits.commit(consumer);
      commits.revoked(parts);
    });
    commitTimer = vertx.setPeriodic(500, id -> commits.commit(consumer));
    return consumer.subscribe(topic);
  }

  private void onRecord(KafkaConsumerRecord<String, byte[]> rec) {
    OffsetTracker.Slot slot = commits.track(rec);
    Invocation inv;
    try {
      inv = InvocationCodec.decode(rec.record());
    } catch (RuntimeException e) {
      LOG.warn("skipping a record that is not an invocation at {}-{}@{}", rec.topic(), rec.partition(), rec.offset());
      slot.done();
      return;
    }
    inFlight++;
    var tenantInflight = metrics.inflight(inv.tenant());
    tenantInflight.incrementAndGet();
    if (inFlight >= maxInFlight && !paused) {
      paused = true;
      consumer.pause();
    }
    // A retry forwarded from a retry tier says which attempt it is for and when it is due.
    int attempt = (int) InvocationCodec.number(rec.record().headers(), InvocationCodec.ATTEMPT, 0);
    long dueAt = InvocationCodec.number(rec.record().headers(), InvocationCodec.DUE_AT, 0);
    runner.run(inv, attempt, dueAt).onComplete(ar -> {
      tenantInflight.decrementAndGet();
      inFlight--;
      if (ar.succeeded()) {
        slot.done();
      } else {
        // Only while stopping: the outcome is not stored, so the offset must not move past it.
        LOG.warn("invocation {} left unfinished: {}", inv.id(), ar.cause().toString());
      }
      if (paused && !stopping && inFlight <= maxInFlight / 2) {
        paused = false;
        consumer.resume();
      }
      if (stopping && inFlight == 0 && drained != null) drained.tryComplete();
    });
  }

  /** Drains: stops taking records, waits for running invocations (bounded), commits, closes. */
  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(commitTimer);
    consumer.pause();
    runner.stop();
    drained = Promise.promise();
    if (inFlight == 0) drained.tryComplete();
    long guard = vertx.setTimer(25_000, id -> drained.tryComplete());
    return drained.future()
        .compose(v -> {
          vertx.cancelTimer(guard);
          return commits.commit(consumer).otherwiseEmpty();
        })
        .compose(v -> consumer.close());
  }
}
