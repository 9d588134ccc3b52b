package dev.conveyor.engine.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;

/** Waits until a consumer group has committed every partition of a topic up to its end. */
public final class Committed {
  private Committed() {}

  public static void toEnd(String bootstrap, String group, String topic, Duration atMost) {
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", bootstrap))) {
      await().atMost(atMost).untilAsserted(() -> {
        var parts = admin.describeTopics(List.of(topic)).allTopicNames().get(5, TimeUnit.SECONDS).get(topic).partitions();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        parts.forEach(p -> latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
        var ends = admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
        var committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
        ends.forEach((tp, info) -> {
          long c = committed.containsKey(tp) ? committed.get(tp).offset() : 0;
          assertThat(c).as(tp.toString()).isEqualTo(info.offset());
        });
      });
    }
  }
}
