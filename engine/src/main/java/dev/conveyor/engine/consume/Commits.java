package dev.conveyor.engine.consume;

import io.vertx.core.Future;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.consumer.OffsetAndMetadata;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The offsets a consumer may commit when its records finish out of order: one
 * {@link OffsetTracker} per partition, committed periodically and on revocation. Used from the
 * consumer's own context only.
 */
final class Commits {
  private static final Logger LOG = LoggerFactory.getLogger(Commits.class);
  private final Map<TopicPartition, OffsetTracker> trackers = new HashMap<>();
  /**
   * Partitions revoked lately, while they may come straight back: their slots since the last commit
   * the broker took, which the new assignment reads again.
   */
  private final Map<TopicPartition, HandedOver> handedOver = new HashMap<>();

  private record HandedOver(OffsetTracker.Slot[] slots, long next) {}

  OffsetTracker.Slot track(KafkaConsumerRecord<?, ?> rec) {
    return trackers.computeIfAbsent(new TopicPartition(rec.topic(), rec.partition()), k -> new OffsetTracker()).track(rec.offset());
  }

  Future<?> commit(KafkaConsumer<?, ?> consumer) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    trackers.forEach((tp, t) -> {
      long o = t.advance();
      if (o >= 0) offsets.put(tp, new OffsetAndMetadata(o, ""));
    });
    if (offsets.isEmpty()) return Future.succeededFuture();
    return consumer.commit(offsets)
        .onSuccess(done -> offsets.forEach((tp, om) -> {
          OffsetTracker t = trackers.get(tp);
          if (t != null) t.committed(om.getOffset());
        }))
        .onFailure(err -> LOG.warn("offset commit failed: {}", err.toString()));
  }

  /** The offset a commit of {@code tp} would take now, or -1 (tests). */
  long committable(TopicPartition tp) {
    OffsetTracker t = trackers.get(tp);
    return t == null ? -1 : t.committable();
  }

  /** Work still running for these partitions finishes, but their offsets are the new owner's now. */
  void revoked(Set<TopicPartition> parts) {
    for (TopicPartition tp : parts) {
      OffsetTracker t = trackers.remove(tp);
      if (t == null) handedOver.remove(tp);
      else handedOver.put(tp, new HandedOver(t.kept(), t.next()));
    }
  }

  /** Partitions given by a rebalance: those handed over and not among them are another owner's. */
  void assigned(Set<TopicPartition> parts) {
    if (!handedOver.isEmpty()) handedOver.keySet().retainAll(parts);
  }

  /**
   * The slot {@code rec} had here before its partition was revoked and given straight back (an
   * eager rebalance revokes every partition), or null: read again from the last commit the broker
   * took, since the commit on revocation is sent after the new assignment's positions were fetched,
   * and the periodic one is up to 500 ms old. Done: its outcome is stored, though it may not show in
   * the status store yet. Neither done nor abandoned: it is still running here.
   */
  OffsetTracker.Slot before(KafkaConsumerRecord<?, ?> rec) {
    if (handedOver.isEmpty()) return null;
    TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
    HandedOver h = handedOver.get(tp);
    if (h == null) return null;
    if (rec.offset() >= h.next() - 1) handedOver.remove(tp); // read up to where it was: done with it
    OffsetTracker.Slot[] slots = h.slots();
    int lo = 0;
    int hi = slots.length - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      long o = slots[mid].offset;
      if (o < rec.offset()) lo = mid + 1;
      else if (o > rec.offset()) hi = mid - 1;
      else return slots[mid];
    }
    return null;
  }
}
