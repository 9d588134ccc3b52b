package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.consume.OffsetTracker;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.kafka.RecordSink;
import dev.conveyor.engine.kafka.Topics;
import dev.conveyor.engine.queue.InvocationCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves parked retries along: a record on tier T is held until T after it was written (records of a
 * tier come due in write order, so holding the head holds nothing that is due), then goes to the
 * tier that fits what remains of its wait, or back to the queue once less than the shortest tier
 * remains (or to the topic its {@code conveyor-return-to} header names: parked callbacks).
 *
 * <p>Holding is {@code pause} + {@code seek} back to the held record, with the partition resumed
 * when the head comes due: nothing waits in memory but a deadline per partition, and a crash loses
 * nothing, since an offset is committed only after its forward is stored. The consumer runs in a
 * poll loop of its own thread, so the pause, the seek and the rest of the fetched batch are handled
 * in one place (a stream that delivers the batch on its own would have to be trusted not to drop
 * what it fetched for other partitions). A record forwarded twice (a crash between forward and
 * commit) is dropped by the dispatcher, which runs an attempt only when the status expects it.
 */
public final class RetryRouter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RetryRouter.class);
  private static final long MAX_POLL_MS = 500;
  private static final long COMMIT_EVERY_MS = 500;
  private static final long SEND_RETRY_MS = 500;

  private final Consumer<String, byte[]> consumer;
  private final Topics topics;
  private final int queuePartitions;
  private final RecordSink sender;
  private final Time clock;
  private final Thread thread;
  /** Finished forwards, handed from the sender's threads to the poll loop, which owns the trackers. */
  private final ConcurrentLinkedQueue<OffsetTracker.Slot> forwarded = new ConcurrentLinkedQueue<>();
  private final Map<TopicPartition, OffsetTracker> trackers = new HashMap<>();
  private final Map<TopicPartition, Long> heldUntil = new HashMap<>();
  private volatile boolean running = true;
  private long lastCommit;

  /** @param clock its timers (a forward tried again) run off the poll loop's thread, which only the loop's own work uses */
  public RetryRouter(Consumer<String, byte[]> consumer, Topics topics, int queuePartitions, RecordSink sender, Time clock) {
    this.consumer = consumer;
    this.topics = topics;
    this.queuePartitions = queuePartitions;
    this.sender = sender;
    this.clock = clock;
    this.thread = new Thread(this::loop, "conveyor-retry-router");
    this.thread.setDaemon(true);
  }

  public RetryRouter start() {
    subscribe();
    thread.start();
    return this;
  }

  /** Subscribes to every tier; {@link #start} does it before the loop runs (a test drives {@link #step} itself). */
  void subscribe() {
    consumer.subscribe(topics.retryTiers().stream().map(Topics.Tier::topic).collect(Collectors.toSet()), new Rebalance());
  }

  private void loop() {
    try {
      while (running) step();
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      LOG.error("the retry router stopped: {}", e.toString());
    } finally {
      try {
        markForwarded();
        commit();
      } catch (RuntimeException e) {
        LOG.warn("last commit of the retry router: {}", e.toString());
      }
      dev.conveyor.engine.kafka.KafkaClients.closeOnItsThread(consumer, Duration.ofSeconds(5), "the retry router");
    }
  }

  /** One turn of the poll loop: resume what came due, poll, forward or hold, commit what was stored. */
  void step() {
    long now = clock.millis();
    resumeDue(now);
    ConsumerRecords<String, byte[]> batch = consumer.poll(Duration.ofMillis(pollMs(now)));
    now = clock.millis();
    for (TopicPartition tp : batch.partitions()) {
      for (ConsumerRecord<String, byte[]> rec : batch.records(tp)) {
        if (!route(tp, rec, now)) break; // held: the rest of this partition is read again after it
      }
    }
    markForwarded();
    if (now - lastCommit >= COMMIT_EVERY_MS) commit();
  }

  /** Forwards the record, or holds its partition from it on; false when held. */
  private boolean route(TopicPartition tp, ConsumerRecord<String, byte[]> rec, long now) {
    Topics.Tier tier = topics.tier(rec.topic()).orElseThrow();
    long holdUntil = rec.timestamp() + tier.delay().toMillis();
    if (now < holdUntil) {
      consumer.pause(Set.of(tp));
      consumer.seek(tp, rec.offset());
      heldUntil.put(tp, holdUntil);
      return false;
    }
    OffsetTracker.Slot slot = trackers.computeIfAbsent(tp, k -> new OffsetTracker()).track(rec.offset());
    long dueAt = InvocationCodec.number(rec.headers(), InvocationCodec.DUE_AT, now);
    Duration remaining = Duration.ofMillis(Math.max(0, dueAt - now));
    Header back = rec.headers().lastHeader(InvocationCodec.RETURN_TO);
    ProducerRecord<String, byte[]> forward = remaining.compareTo(topics.shortestTier()) >= 0
        ? InvocationCodec.forward(rec, topics.tierFor(remaining).topic(), null, now)
        : back != null && back.value() != null // a parked callback goes back to its own topic
        ? InvocationCodec.forward(rec, new String(back.value(), StandardCharsets.UTF_8), null, now)
        : InvocationCodec.forward(rec, topics.invocations(), InvocationIds.partition(rec.key(), queuePartitions), now);
    send(forward, slot);
    return true;
  }

  private void send(ProducerRecord<String, byte[]> r, OffsetTracker.Slot slot) {
    sender.send(r).onSuccess(md -> forwarded.add(slot)).onFailure(err -> {
      if (!running) return; // not committed: the next owner forwards it
      LOG.warn("forwarding a retry failed ({}); again in {} ms", err.toString(), SEND_RETRY_MS);
      clock.setTimer(SEND_RETRY_MS, () -> send(r, slot));
    });
  }

  private void resumeDue(long now) {
    for (Iterator<Map.Entry<TopicPartition, Long>> it = heldUntil.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<TopicPartition, Long> e = it.next();
      if (now >= e.getValue()) {
        consumer.resume(Set.of(e.getKey()));
        it.remove();
      }
    }
  }

  private long pollMs(long now) {
    long next = MAX_POLL_MS;
    for (long until : heldUntil.values()) next = Math.min(next, until - now);
    return Math.max(1, next);
  }

  private void markForwarded() {
    for (OffsetTracker.Slot s; (s = forwarded.poll()) != null; ) s.done();
  }

  private void commit() {
    lastCommit = clock.millis();
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    trackers.forEach((tp, t) -> {
      long o = t.advance();
      if (o >= 0) offsets.put(tp, new OffsetAndMetadata(o));
    });
    if (offsets.isEmpty()) return;
    consumer.commitAsync(offsets, (done, err) -> {
      if (err != null) {
        LOG.warn("retry router commit failed: {}", err.toString());
        return;
      }
      done.forEach((tp, om) -> {
        OffsetTracker t = trackers.get(tp);
        if (t != null) t.committed(om.offset());
      });
    });
  }

  /** Called on the poll loop's thread, inside poll. */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> parts) {
      markForwarded();
      Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
      for (TopicPartition tp : parts) {
        OffsetTracker t = trackers.get(tp);
        long o = t == null ? -1 : t.advance();
        if (o >= 0) offsets.put(tp, new OffsetAndMetadata(o));
      }
      try {
        if (!offsets.isEmpty()) consumer.commitSync(offsets, Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        LOG.warn("commit on revocation failed: {}", e.toString());
      }
      parts.forEach(tp -> {
        trackers.remove(tp);
        heldUntil.remove(tp);
      });
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> parts) {
      // new partitions start unpaused, from the committed offset
    }
  }

  /** Stops the loop: a last commit of what was forwarded; what was not is forwarded by the next owner. */
  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
