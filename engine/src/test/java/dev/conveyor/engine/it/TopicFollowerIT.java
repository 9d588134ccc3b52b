package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.kafka.TopicFollower;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.TestKafka;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * A follower started while the broker does not know its topic yet (a broker just restarted after a
 * kill can answer before its metadata has it) must still read the topic once it is known: the
 * Kafka client answers {@code partitionsFor} of an unknown topic with an empty list at once, and an
 * empty assignment would read nothing for good while looking caught up.
 */
@Beside
class TopicFollowerIT {

  /** The real client, answering as it does for a topic its broker does not know, the first times it is asked. */
  private static final class NotKnownYet extends KafkaConsumer<String, byte[]> {
    final AtomicInteger asked = new AtomicInteger();

    NotKnownYet(Map<String, Object> config) {
      super(config, new StringDeserializer(), new ByteArrayDeserializer());
    }

    @Override
    public List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
      return asked.incrementAndGet() <= 3 ? List.of() : super.partitionsFor(topic, timeout);
    }
  }

  @Test
  void aTopicTheBrokerDidNotKnowAtFirstIsFollowedOnceItIsKnown() throws Exception {
    String topic = "follower-" + UUID.randomUUID();
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()))) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()),
        new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>(topic, 0, "a", "before")).get(30, TimeUnit.SECONDS);
    }
    NotKnownYet consumer = new NotKnownYet(Map.of("bootstrap.servers", TestKafka.bootstrap()));
    List<String> read = new CopyOnWriteArrayList<>();
    try (TopicFollower follower = new TopicFollower(consumer, topic, "follower-test", r -> read.add(new String(r.value()))).start()) {
      follower.caughtUp().get(30, TimeUnit.SECONDS);
      assertThat(read).as("caught up means the records there at start were read").containsExactly("before");
      assertThat(consumer.asked.get()).isEqualTo(4);
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()),
          new StringSerializer(), new StringSerializer())) {
        producer.send(new ProducerRecord<>(topic, 1, "b", "after")).get(30, TimeUnit.SECONDS);
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> read.contains("after"));
      assertThat(follower.alive()).isTrue();
    }
  }
}
