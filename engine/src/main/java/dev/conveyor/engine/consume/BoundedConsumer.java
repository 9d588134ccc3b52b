package dev.conveyor.engine.consume;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import dev.conveyor.engine.time.Time;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import org.slf4j.Logger;

/**
 * A Vert.x Kafka consumer whose records finish out of order, with a bound on how many are in
 * flight: above {@code maxInFlight} the whole stream pauses (never per partition: that is what the
 * the retry router's own poll loop is for), below half it resumes. Offsets are committed every
 * 500 ms and on revocation, only up to the lowest record not yet finished ({@link Commits}).
 * {@link #stop} drains: no new records, running work may end (bounded), a last commit, close.
 * Used by the dispatcher and the callback dispatcher, from their own context only.
 */
public final class BoundedConsumer {
  private static final java.time.Duration POLL_TIMEOUT = java.time.Duration.ofMillis(20);
  private final Time time;
  private final KafkaConsumer<String, byte[]> consumer;
  private final int maxInFlight;
  private final Logger log;
  private final Commits commits = new Commits();
  private long commitTimer = -1;
  private int inFlight;
  private boolean paused;
  private boolean stopping;
  /** close() was called: no consumer operation may follow. */
  private boolean closing;
  private Promise<Void> drained;
  private final java.util.Set<io.vertx.kafka.client.common.TopicPartition> pausedPartitions = new java.util.HashSet<>();
  private Handler<java.util.Set<io.vertx.kafka.client.common.TopicPartition>> onRevoked = parts -> {};
  private Handler<java.util.Set<io.vertx.kafka.client.common.TopicPartition>> onAssigned = parts -> {};

  public BoundedConsumer(Time time, KafkaConsumer<String, byte[]> consumer, int maxInFlight, Logger log) {
    this.time = time;
    this.consumer = consumer;
    // Pause and resume are tasks for the consumer's worker, which runs them between polls: with the
    // default 1 s poll timeout, a partition (or the stream) resumed while nothing else had records
    // waited up to a second, and the dispatcher ran dry (half the drain benchmark's time at 3k/s).
    consumer.pollTimeout(POLL_TIMEOUT);
    this.maxInFlight = maxInFlight;
    this.log = log;
  }

  public Future<Void> subscribe(String topic, Handler<KafkaConsumerRecord<String, byte[]>> handler) {
    consumer.handler(handler);
    consumer.exceptionHandler(err -> log.warn("consumer of {}: {}", topic, err.toString()));
    consumer.partitionsRevokedHandler(parts -> {
      // Closing revokes every partition, and this runs after close() began: a consumer operation then
      // would restart the closed read stream on a thread of its own, beside the close (vertx-kafka-client's
      // KafkaReadStreamImpl.submitTask). stop() committed just before closing.
      if (!closing) commits.commit(consumer);
      commits.revoked(parts);
      pausedPartitions.removeAll(parts); // a partition assigned again starts unpaused
      onRevoked.handle(parts);
    });
    // Run on the context before any record of these partitions is handed over.
    consumer.partitionsAssignedHandler(parts -> {
      commits.assigned(parts);
      onAssigned.handle(parts);
    });
    commitTimer = time.setPeriodic(500, () -> commits.commit(consumer));
    return consumer.subscribe(topic);
  }

  /** A record that arrived; {@link OffsetTracker.Slot#done()} once its outcome is stored (or it is skipped). */
  public OffsetTracker.Slot track(KafkaConsumerRecord<String, byte[]> rec) {
    return commits.track(rec);
  }

  /**
   * The slot a record read again had here before a rebalance gave its partition straight back, or
   * null (see {@link Commits#before}): done if it finished here, neither done nor abandoned if it is
   * still running here.
   */
  public OffsetTracker.Slot before(KafkaConsumerRecord<String, byte[]> rec) {
    return commits.before(rec);
  }

  /** Called with partitions given by a rebalance, before their first record. */
  public void onAssigned(Handler<java.util.Set<io.vertx.kafka.client.common.TopicPartition>> handler) {
    this.onAssigned = handler;
  }

  /** Called with partitions taken away by a rebalance, after their last commit. */
  public void onRevoked(Handler<java.util.Set<io.vertx.kafka.client.common.TopicPartition>> handler) {
    this.onRevoked = handler;
  }

  /**
   * Stops fetching one partition (records already fetched still arrive: Vert.x pauses the Kafka
   * consumer's partition, it drops nothing), e.g. while too many of its records wait.
   */
  public void pause(io.vertx.kafka.client.common.TopicPartition tp) {
    if (pausedPartitions.add(tp) && !closing) consumer.pause(java.util.Set.of(tp));
  }

  public void resume(io.vertx.kafka.client.common.TopicPartition tp) {
    if (pausedPartitions.remove(tp) && !stopping) consumer.resume(java.util.Set.of(tp));
  }

  /** Work on a tracked record starts: may pause the stream. */
  public void begin() {
    if (++inFlight >= maxInFlight && !paused) {
      paused = true;
      consumer.pause();
    }
  }

  /** Work ends: its slot is done when {@code stored} (else, only while stopping, the next owner redoes it). */
  public void end(OffsetTracker.Slot slot, boolean stored) {
    inFlight--;
    if (stored) slot.done();
    if (paused && !stopping && inFlight <= maxInFlight / 2) {
      paused = false;
      consumer.resume();
    }
    if (stopping && inFlight == 0 && drained != null) drained.tryComplete();
  }

  public boolean stopping() {
    return stopping;
  }

  /**
   * Stops taking records, runs {@code abandon} (which fails the waits that would hold the drain),
   * waits for running work at most {@code guardMs}, commits what finished and closes.
   */
  public Future<Void> stop(Runnable abandon, long guardMs) {
    stopping = true;
    time.cancelTimer(commitTimer);
    consumer.pause();
    abandon.run();
    drained = Promise.promise();
    if (inFlight == 0) drained.tryComplete();
    long guard = time.setTimer(guardMs, () -> drained.tryComplete());
    return drained.future()
        .compose(v -> {
          time.cancelTimer(guard);
          return commits.commit(consumer).otherwiseEmpty();
        })
        .compose(v -> {
          closing = true;
          return consumer.close();
        });
  }
}
