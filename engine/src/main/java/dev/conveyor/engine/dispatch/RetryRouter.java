package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.kafka.Topics;
import dev.conveyor.engine.queue.InvocationCodec;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves parked retries along: a record on tier T is held until T after it was written (records of a
 * tier come due in write order, so holding the head holds nothing that is due), then goes to the
 * tier that fits what remains of its wait, or back to the queue once less than the shortest tier
 * remains (or to the topic its {@code conveyor-return-to} header names: parked callbacks). Holding is pause + seek + timer, so nothing waits in memory but a timer per partition and
 * a crash loses nothing: the offset is committed only after the forward is stored. A record
 * forwarded twice (a crash between forward and commit) is dropped by the dispatcher, which runs an
 * attempt only when the status expects that attempt.
 */
public final class RetryRouter extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(RetryRouter.class);

  private final Map<String, String> consumerConfig;
  private final Topics topics;
  private final int queuePartitions;
  private final KafkaSender sender;
  private final LongSupplier clock;
  private final Commits commits = new Commits();
  private final Set<TopicPartition> held = new HashSet<>();
  private KafkaConsumer<String, byte[]> consumer;
  private long commitTimer;

  public RetryRouter(Map<String, String> consumerConfig, Topics topics, int queuePartitions, KafkaSender sender, LongSupplier clock) {
    this.consumerConfig = consumerConfig;
    this.topics = topics;
    this.queuePartitions = queuePartitions;
    this.sender = sender;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    consumer = KafkaConsumer.create(vertx, consumerConfig);
    consumer.handler(this::onRecord);
    consumer.exceptionHandler(err -> LOG.warn("retry consumer: {}", err.toString()));
    consumer.partitionsRevokedHandler(parts -> {
      commits.commit(consumer);
      commits.revoked(parts);
      held.removeAll(parts);
    });
    commitTimer = vertx.setPeriodic(500, id -> commits.commit(consumer));
    return consumer.subscribe(topics.retryTiers().stream().map(Topics.Tier::topic).collect(Collectors.toSet()));
  }

  private void onRecord(KafkaConsumerRecord<String, byte[]> rec) {
    TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
    if (held.contains(tp)) return; // fetched before the hold; read again after it
    Topics.Tier tier = topics.tier(rec.topic()).orElseThrow();
    long now = clock.getAsLong();
    long holdUntil = rec.timestamp() + tier.delay().toMillis();
    if (now < holdUntil) {
      held.add(tp);
      consumer.pause(Set.of(tp)).compose(v -> consumer.seek(tp, rec.offset())).onFailure(err -> LOG.warn("holding {}: {}", tp, err.toString()));
      vertx.setTimer(holdUntil - now, id -> {
        if (held.remove(tp)) consumer.resume(Set.of(tp));
      });
      return;
    }
    OffsetTracker.Slot slot = commits.track(rec);
    long dueAt = InvocationCodec.number(rec.record().headers(), InvocationCodec.DUE_AT, now);
    Duration remaining = Duration.ofMillis(Math.max(0, dueAt - now));
    var back = rec.record().headers().lastHeader(InvocationCodec.RETURN_TO);
    var forward = remaining.compareTo(topics.shortestTier()) >= 0
        ? InvocationCodec.forward(rec.record(), topics.tierFor(remaining).topic(), null, now)
        : back != null && back.value() != null // a parked callback goes back to its own topic
        ? InvocationCodec.forward(rec.record(), new String(back.value(), java.nio.charset.StandardCharsets.UTF_8), null, now)
        : InvocationCodec.forward(rec.record(), topics.invocations(), InvocationIds.partition(rec.key(), queuePartitions), now);
    send(forward, slot);
  }

  private void send(org.apache.kafka.clients.producer.ProducerRecord<String, byte[]> r, OffsetTracker.Slot slot) {
    sender.send(r).onSuccess(md -> slot.done()).onFailure(err -> {
      LOG.warn("forwarding a retry failed ({}); again in 500 ms", err.toString());
      vertx.setTimer(500, id -> send(r, slot));
    });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(commitTimer);
    return commits.commit(consumer).otherwiseEmpty().compose(v -> consumer.close());
  }
}
