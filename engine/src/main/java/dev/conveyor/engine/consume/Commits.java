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

  /** Work still running for these partitions finishes, but their offsets are the new owner's now. */
  void revoked(Set<TopicPartition> parts) {
    trackers.keySet().removeAll(parts);
  }
}
