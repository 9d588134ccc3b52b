package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.queue.InvocationCodec;
import io.vertx.core.Future;
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
  /** Ids of first deliveries running on this replica (touched on the dispatcher's context only). */
  private final java.util.Set<String> running = new java.util.HashSet<>();
  private final InvocationRunner runner;
  private final Metrics metrics;
  private BoundedConsumer consumer;

  public Dispatcher(Map<String, String> consumerConfig, String topic, int maxInFlight, InvocationRunner runner, Metrics metrics) {
    this.consumerConfig = consumerConfig;
    this.topic = topic;
    this.maxInFlight = maxInFlight;
    this.runner = runner;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    KafkaConsumer<String, byte[]> kafka = KafkaConsumer.create(vertx, consumerConfig);
    metrics.kafkaClient(kafka.unwrap()); // kafka_consumer_* (lag included) in /metrics
    consumer = new BoundedConsumer(vertx, kafka, maxInFlight, LOG);
    return consumer.subscribe(topic, this::onRecord);
  }

  private void onRecord(KafkaConsumerRecord<String, byte[]> rec) {
    OffsetTracker.Slot slot = consumer.track(rec);
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
    // A second copy of an invocation running here (a replayed submission stored it again; one id is
    // always one partition, so one replica) is dropped: the running copy brings it to its end, and
    // its offset, lower than this one's, holds the commit until it does.
    if (attempt == 0 && !running.add(inv.id())) {
      slot.done();
      return;
    }
    consumer.begin();
    var tenantInflight = metrics.inflight(inv.tenant());
    tenantInflight.incrementAndGet();
    runner.run(inv, attempt, dueAt).onComplete(ar -> {
      if (attempt == 0) running.remove(inv.id());
      tenantInflight.decrementAndGet();
      // Failed only while stopping: the outcome is not stored, so the offset must not move past it.
      if (ar.failed()) LOG.warn("invocation {} left unfinished: {}", inv.id(), ar.cause().toString());
      consumer.end(slot, ar.succeeded());
    });
  }

  /** Drains: stops taking records, waits for running invocations (bounded), commits, closes. */
  @Override
  public Future<?> stop() {
    return consumer.stop(runner::stop, 25_000);
  }
}
