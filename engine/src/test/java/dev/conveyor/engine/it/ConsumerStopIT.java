package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.consume.BoundedConsumer;
import dev.conveyor.engine.consume.OffsetTracker;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.ConsumerThreads;
import dev.conveyor.engine.testing.TestKafka;
import dev.conveyor.engine.time.Time;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Closing a consumer of a group revokes its partitions, and vertx-kafka-client runs the revoke
 * handler on the context after {@code close()} began. A consumer operation submitted then (a commit
 * of work that ended after the last one) finds the read stream closed and starts a new worker thread
 * for it (KafkaReadStreamImpl.submitTask: a closed stream is started again); the Kafka client
 * refuses it beside the close, and that thread then waits for tasks forever.
 */
@Alone
class ConsumerStopIT {
  @Test
  void workThatEndsWhileTheConsumerClosesLeavesNoThreadWaitingForWork() throws Exception {
    String topic = "stop-" + UUID.randomUUID();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrap()))) {
      admin.createTopics(Set.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()),
        new StringSerializer(), new StringSerializer())) {
      p.send(new ProducerRecord<>(topic, "k", "v")).get(30, TimeUnit.SECONDS);
    }
    Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
    Vertx vertx = Vertx.vertx();
    try {
      KafkaConsumer<String, byte[]> kafka = KafkaConsumer.create(vertx, Map.of("bootstrap.servers", TestKafka.bootstrap(),
          "group.id", topic, "enable.auto.commit", "false", "auto.offset.reset", "earliest",
          "key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer",
          "value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer"));
      BoundedConsumer[] c = {null};
      CompletableFuture<OffsetTracker.Slot> running = new CompletableFuture<>();
      vertx.runOnContext(v -> {
        c[0] = new BoundedConsumer(Time.system(vertx), kafka, 100, LoggerFactory.getLogger(ConsumerStopIT.class));
        c[0].subscribe(topic, rec -> {
          c[0].begin();
          running.complete(c[0].track(rec));
        });
      });
      OffsetTracker.Slot slot = running.get(30, TimeUnit.SECONDS);
      CompletableFuture<Void> stopped = new CompletableFuture<>();
      vertx.runOnContext(v -> {
        // The drain gives up on the running work after 100 ms, commits and closes; the work ends just
        // after (a timer set after the drain's, of the same delay), before the close revokes.
        c[0].stop(() -> {}, 100).onComplete(ar -> stopped.complete(null));
        vertx.setTimer(100, id -> c[0].end(slot, true));
      });
      stopped.get(30, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ConsumerThreads.waitingForWork(before))
          .as("consumer threads waiting for work after the stop").isEmpty());
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
