package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Committed;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The Kafka topic trigger: records of a user topic become executed invocations with
 * {@code trigger: kafka}, their CloudEvents headers passed on; the source offsets are committed
 * once queued; and a full replay of the topic (offsets reset to the beginning) queues nothing twice.
 */
class KafkaTriggerIT {

  @Test
  void recordsBecomeInvocationsOnceEvenWhenTheTopicIsReplayed() throws Exception {
    String prefix = Gateways.prefix("trigger");
    String topic = prefix + "orders";
    String group = prefix + "orders-trigger";
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()))) {
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap(),
        "acks", "all"), new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < 100; i++) {
        ProducerRecord<String, String> r = new ProducerRecord<>(topic, "order-" + i, "{\"seq\":" + i + "}");
        r.headers().add("ce_type", "com.example.order.created".getBytes(StandardCharsets.UTF_8))
            .add("ce_id", ("evt-" + i).getBytes(StandardCharsets.UTF_8))
            .add("ce_source", "/orders".getBytes(StandardCharsets.UTF_8))
            .add("ce_specversion", "1.0".getBytes(StandardCharsets.UTF_8))
            .add("content-type", "application/json".getBytes(StandardCharsets.UTF_8));
        p.send(r);
      }
      p.flush();
    }
    try (FunctionServer fn = new FunctionServer()) {
      String yaml = Gateways.yaml(TestKafka.bootstrap(), prefix, "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }",
          """
          connectors:
            - { type: kafka, name: orders, bootstrapServers: "", topic: "%s", group: "%s",
                target: { namespace: acme, function: echo } }
          """.formatted(topic, group));
      try (Conveyor gw = Gateways.start(yaml)) {
        await().atMost(Duration.ofSeconds(60)).until(() -> fn.callsById().size() == 100);
        Set<Integer> seqs = fn.calls().stream().map(c -> new JsonObject(c.body()).getInteger("seq")).collect(Collectors.toSet());
        assertThat(seqs).hasSize(100).contains(0, 99);
        FunctionServer.Call one = fn.calls().get(0);
        assertThat(one.headers().get("ce-type")).isEqualTo("com.example.order.created");
        assertThat(one.headers().get("ce-id")).startsWith("evt-");
        assertThat(one.headers().get("x-kafka-topic")).isEqualTo(topic);
        assertThat(one.headers().get("x-kafka-key")).startsWith("order-");
        assertThat(one.headers().get("content-type")).isEqualTo("application/json");
        JsonObject usage = AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("invocationId")
            .equals(one.invocationId()), 1).get(0).getJsonObject("data");
        assertThat(usage.getString("trigger")).isEqualTo("kafka");
        assertThat(new dev.conveyor.engine.testing.Http(gw.httpPort()).status(one.invocationId(), dev.conveyor.engine.testing.Gateways.ACME_KEY)
            .getString("trigger")).isEqualTo("kafka");
        Committed.toEnd(TestKafka.bootstrap(), group, topic, Duration.ofSeconds(10));
      }
      int calls = fn.calls().size();

      // Replay the whole topic, as after a crash before the commit: every record is recognised.
      try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()))) {
        Map<TopicPartition, OffsetAndMetadata> zero = new HashMap<>();
        for (int p = 0; p < 3; p++) zero.put(new TopicPartition(topic, p), new OffsetAndMetadata(0));
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
          admin.alterConsumerGroupOffsets(group, zero).all().get(5, TimeUnit.SECONDS);
          return true;
        });
      }
      try (Conveyor gw = Gateways.start(yaml)) {
        Committed.toEnd(TestKafka.bootstrap(), group, topic, Duration.ofSeconds(30));
        assertThat(gw.metrics().scrape()).doesNotContain("conveyor_trigger_invocations_total{tenant=\"acme\",trigger=\"kafka\"}");
      }
      assertThat(fn.callsById()).hasSize(100);
      assertThat(fn.calls()).hasSize(calls);
    }
  }

  @Test
  void aReservationACrashLeftBehindIsCompletedUnderTheSameId() throws Exception {
    String prefix = Gateways.prefix("trigger-reserved");
    String topic = prefix + "orders";
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()))) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    try (FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), prefix,
             "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", """
             connectors:
               - { type: kafka, name: orders, topic: "%s", target: { namespace: acme, function: echo } }
             """.formatted(topic)))) {
      // What a crash between the key's status and the invocation leaves: the key names an id that was never queued.
      String key = "trigger:orders:" + topic + ":0:0";
      String reserved = dev.conveyor.engine.api.InvocationIds.next(System.currentTimeMillis());
      var inv = new dev.conveyor.engine.api.Invocation(reserved, "acme", "acme", "echo", "application/json", new byte[0], null,
          Map.of(), java.time.Instant.now(), key, null, null, "kafka");
      try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()),
          new StringSerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer())) {
        p.send(gw.statusStore().record(dev.conveyor.engine.api.InvocationStatus.queued(inv), null)).get(10, TimeUnit.SECONDS);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.statusStore().idempotent("acme", "acme", "echo", key).isPresent());
      try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()),
          new StringSerializer(), new StringSerializer())) {
        p.send(new ProducerRecord<>(topic, 0, "k", "{\"seq\":0}")).get(10, TimeUnit.SECONDS);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> fn.callsFor(reserved) == 1);
      assertThat(fn.callsById()).as("the event ran under the reserved id, and only under it").hasSize(1);
      assertThat(fn.calls().get(0).body()).isEqualTo("{\"seq\":0}");
    }
  }
}
