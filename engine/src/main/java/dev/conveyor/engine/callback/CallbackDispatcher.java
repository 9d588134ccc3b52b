package dev.conveyor.engine.callback;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy;
import dev.conveyor.engine.config.ConveyorConfig.PostRetry;
import dev.conveyor.engine.consume.Backoff;
import dev.conveyor.engine.consume.BoundedConsumer;
import dev.conveyor.engine.consume.OffsetTracker;
import dev.conveyor.engine.consume.Waits;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.kafka.Topics;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.queue.InvocationCodec;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the {@link OutboundPost}s stored on {@code conveyor.callbacks} until the receiver answers
 * 2xx, at most {@code maxTries} times, with exponential backoff and full jitter (never shorter
 * than the receiver's {@code Retry-After}, capped by {@code backoffMax}). A wait shorter than
 * the shortest retry tier is a timer (the record's offset stays uncommitted meanwhile, so a crash
 * sends it again); a longer one parks the post on a retry tier with the try it is for, and the
 * {@link dev.conveyor.engine.dispatch.RetryRouter} brings it back here when it is due. So a
 * receiver that is down for an hour still gets its callback, across restarts. Delivery is
 * at-least-once: receivers deduplicate by {@code X-Conveyor-Invocation-Id}.
 */
public final class CallbackDispatcher extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(CallbackDispatcher.class);
  private static final int MAX_IN_FLIGHT = 256;

  private final Map<String, String> consumerConfig;
  private final Topics topics;
  private final CallbackSender sender;
  private final KafkaSender kafka;
  private final PostRetry policy;
  private final Metrics metrics;
  private final Time clock;
  private final Backoff backoff = Backoff.withJitter();
  private Waits waits;
  private BoundedConsumer consumer;

  public CallbackDispatcher(Map<String, String> consumerConfig, Topics topics, CallbackSender sender, KafkaSender kafka,
      PostRetry policy, Metrics metrics, Time clock) {
    this.consumerConfig = consumerConfig;
    this.topics = topics;
    this.sender = sender;
    this.kafka = kafka;
    this.policy = policy;
    this.metrics = metrics;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    waits = new Waits(clock, LOG);
    consumer = new BoundedConsumer(clock, KafkaConsumer.create(vertx, consumerConfig), MAX_IN_FLIGHT, LOG);
    return consumer.subscribe(topics.callbacks(), this::onRecord);
  }

  private void onRecord(KafkaConsumerRecord<String, byte[]> rec) {
    OffsetTracker.Slot slot = consumer.track(rec);
    OutboundPost post;
    try {
      post = OutboundPost.from(rec.record());
    } catch (RuntimeException e) {
      LOG.warn("skipping a record that is not a callback at {}-{}@{}", rec.topic(), rec.partition(), rec.offset());
      slot.done();
      return;
    }
    int n = (int) InvocationCodec.number(rec.record().headers(), InvocationCodec.ATTEMPT, 1);
    long dueAt = InvocationCodec.number(rec.record().headers(), InvocationCodec.DUE_AT, 0);
    consumer.begin();
    // Failed only while stopping: the next owner sends it.
    waits.later(dueAt - clock.millis()).compose(v -> deliver(post, rec, n)).onComplete(ar -> consumer.end(slot, ar.succeeded()));
  }

  /** Completes when this post needs nothing more from this record: delivered, given up, or parked. */
  private Future<Void> deliver(OutboundPost post, KafkaConsumerRecord<String, byte[]> rec, int n) {
    return sender.post(post).compose(sent -> {
      switch (sent.outcome()) {
        case DELIVERED -> {
          metrics.post(post.tenant(), post.kind(), "delivered");
          return Future.succeededFuture();
        }
        case REFUSED -> {
          metrics.post(post.tenant(), post.kind(), "refused");
          LOG.warn("a {} of invocation {} was dropped: its URL is not on tenant {}'s allow-list", post.kind(),
              post.invocationId(), post.tenant());
          return Future.succeededFuture();
        }
        default -> {
          if (n >= policy.maxTries()) {
            metrics.post(post.tenant(), post.kind(), "given_up");
            LOG.warn("the {} of invocation {} was given up after {} tries", post.kind(), post.invocationId(), n);
            return Future.succeededFuture();
          }
          metrics.post(post.tenant(), post.kind(), "retried");
          long delay = backoff.delayMs(BackoffPolicy.exponential, policy.backoffDelay(), policy.backoffMax(), n, sent.retryAfterMs());
          if (delay < topics.shortestTier().toMillis()) return waits.later(delay).compose(v -> deliver(post, rec, n + 1));
          return waits.durably(() -> kafka.send(parked(rec, n + 1, clock.millis() + delay))).mapEmpty();
        }
      }
    });
  }

  /** The post on the retry tier that fits {@code dueAt}, marked to come back to this topic for try {@code next}. */
  private ProducerRecord<String, byte[]> parked(KafkaConsumerRecord<String, byte[]> rec, int next, long dueAt) {
    long now = clock.millis();
    RecordHeaders h = new RecordHeaders(rec.record().headers().toArray());
    h.remove(InvocationCodec.ATTEMPT);
    h.remove(InvocationCodec.DUE_AT);
    h.remove(InvocationCodec.RETURN_TO);
    h.add(InvocationCodec.ATTEMPT, Integer.toString(next).getBytes(StandardCharsets.UTF_8));
    h.add(InvocationCodec.DUE_AT, Long.toString(dueAt).getBytes(StandardCharsets.UTF_8));
    h.add(InvocationCodec.RETURN_TO, topics.callbacks().getBytes(StandardCharsets.UTF_8));
    String tier = topics.tierFor(Duration.ofMillis(dueAt - now)).topic();
    return new ProducerRecord<>(tier, null, now, rec.key(), rec.value(), h);
  }

  /** Abandons waits (their records stay uncommitted for the next owner), lets running POSTs end (bounded), commits. */
  @Override
  public Future<?> stop() {
    return consumer.stop(waits::stop, 12_000);
  }
}
