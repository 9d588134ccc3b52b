package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.Committed;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Ports;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
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
@Alone
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

  @Test
  void orderedModeKeepsEachKeysOrderUnderRetriesAndAPoisonRecordIsDeadLetteredThenItsKeyGoesOn() throws Exception {
    String prefix = Gateways.prefix("trigger-ordered");
    String topic = prefix + "orders";
    int keys = 5;
    int perKey = 8;
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()))) {
      admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap(),
        "acks", "all"), new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < perKey; i++) {
        for (int k = 0; k < keys; k++) p.send(new ProducerRecord<>(topic, "k" + k, "{\"key\":\"k" + k + "\",\"seq\":" + i + "}"));
      }
      p.flush();
    }
    // Every third record fails its first attempt (the engine retries it); k2's record 3 always fails: the poison.
    try (FunctionServer fn = new FunctionServer().behave(c -> {
      JsonObject b = new JsonObject(c.body());
      boolean poison = b.getString("key").equals("k2") && b.getInteger("seq") == 3;
      boolean flaky = b.getInteger("seq") % 3 == 0 && c.attempt() == 1;
      return new FunctionServer.Answer(poison || flaky ? 500 : 200, 5, null);
    })) {
      String yaml = Gateways.yaml(TestKafka.bootstrap(), prefix, "- { namespace: acme, name: echo, url: \"" + fn.url("/echo")
          + "\", delivery: { retry: 5, backoffDelay: PT0.05S, backoffMax: PT0.1S } }", """
          connectors:
            - { type: kafka, name: ordered, topic: "%s", ordered: true, poisonLimit: 2, maxInFlight: 16,
                target: { namespace: acme, function: echo } }
          """.formatted(topic))
          // The tenant spreads over all 3 queue partitions: a key's invocations land in any of them.
          .replace("limits: { maxPayloadBytes: 65536 }", "limits: { maxPayloadBytes: 65536, lanes: 3 }");
      try (Conveyor gw = Gateways.start(yaml)) {
        // Each key's last record ran: everything before it has ended, poison included.
        await().atMost(Duration.ofSeconds(90)).until(() -> fn.calls().stream().map(c -> new JsonObject(c.body()))
            .filter(b -> b.getInteger("seq") == perKey - 1).map(b -> b.getString("key")).distinct().count() == keys);
        Map<String, List<Integer>> seen = new HashMap<>();
        for (FunctionServer.Call c : fn.calls()) {
          JsonObject b = new JsonObject(c.body());
          seen.computeIfAbsent(b.getString("key"), k -> new java.util.ArrayList<>()).add(b.getInteger("seq"));
        }
        for (var e : seen.entrySet()) {
          List<Integer> order = e.getValue();
          for (int i = 1; i < order.size(); i++) {
            assertThat(order.get(i)).as("key %s: calls in order %s", e.getKey(), order).isGreaterThanOrEqualTo(order.get(i - 1));
          }
          assertThat(new java.util.TreeSet<>(order)).as("key %s ran every record", e.getKey()).hasSize(perKey);
        }
        assertThat(fn.calls().stream().map(c -> dev.conveyor.engine.api.InvocationIds.partition(c.invocationId(), 3)).distinct().count())
            .as("queue partitions the invocations went to").isEqualTo(3);
        // The flaky records were retried in place: seq 0, 3 and 6 twice each for every key but the poison's.
        assertThat(seen.get("k0")).containsExactly(0, 0, 1, 2, 3, 3, 4, 5, 6, 6, 7);
        // The poison used its 2 attempts (not the function's 6) and was dead-lettered; k2 went on after it.
        assertThat(seen.get("k2").stream().filter(x -> x == 3).count()).isEqualTo(2);
        String poisonId = fn.calls().stream().filter(c -> c.body().contains("\"k2\",\"seq\":3")).findFirst().orElseThrow().invocationId();
        JsonObject st = new dev.conveyor.engine.testing.Http(gw.httpPort()).status(poisonId, Gateways.ACME_KEY);
        assertThat(st.getString("status")).isEqualTo("failed");
        assertThat(st.getInteger("attempts")).isEqualTo(2);
        // Ordered commits follow finished records, so the source is fully committed once all have ended.
        Committed.toEnd(TestKafka.bootstrap(), "conveyor-ordered", topic, Duration.ofSeconds(30));
        assertThat(gw.metrics().scrape()).contains("conveyor_connector_records_total{connector=\"ordered\",type=\"kafka\"} 40.0");
      }
    }
  }

  /**
   * The gateway, as its own process, is SIGKILLed while records stream into the source topic and
   * started again: no record is lost (every one ran), and none was queued twice (each record has
   * exactly one invocation id, however often a replay offered it again).
   */
  @Test
  void aGatewayKilledMidStreamLosesNoRecordAndQueuesNoneTwice() throws Exception {
    String prefix = Gateways.prefix("trigger-crash");
    String topic = prefix + "orders";
    int total = 1500;
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()))) {
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("conveyor-trigger-crash");
    try (FunctionServer fn = new FunctionServer().behave(c -> new FunctionServer.Answer(200, 2, null))) {
      java.nio.file.Path config = dir.resolve("conveyor.yaml");
      java.nio.file.Files.writeString(config, Gateways.yaml(TestKafka.bootstrap(), prefix,
          "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", """
          connectors:
            - { type: kafka, name: stream, topic: "%s", maxInFlight: 32, target: { namespace: acme, function: echo } }
          """.formatted(topic)));
      int[] ports = Ports.free(3);
      Map<String, String> env = Map.of("CONVEYOR_CONFIG", config.toString(), "CONVEYOR_DATA_DIR", dir.resolve("data").toString(),
          "CONVEYOR_HTTP_PORT", Integer.toString(ports[0]), "CONVEYOR_ADMIN_PORT", Integer.toString(ports[1]),
          "CONVEYOR_EMBEDDED_KAFKA_PORT", Integer.toString(ports[2]));
      java.util.concurrent.atomic.AtomicInteger produced = new java.util.concurrent.atomic.AtomicInteger();
      Thread producer = new Thread(() -> {
        try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap(),
            "acks", "all", "linger.ms", "5"), new StringSerializer(), new StringSerializer())) {
          for (int i = 0; i < total; i++) {
            p.send(new ProducerRecord<>(topic, "k" + (i % 50), "{\"seq\":" + i + "}"));
            produced.incrementAndGet();
            if (i % 20 == 19) {
              p.flush();
              java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L); // a stream, not a burst: 200 records/s
            }
          }
        }
      }, "source-producer");
      try (dev.conveyor.engine.testing.GatewayProcess gw = new dev.conveyor.engine.testing.GatewayProcess(env,
          java.nio.file.Path.of("target", "trigger-crash.log")).start()) {
        gw.awaitReady(Duration.ofSeconds(90));
        producer.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> fn.callsById().size() >= 150);
        gw.kill();
        int killedWithProduced = produced.get();
        assertThat(killedWithProduced).as("killed mid-stream").isLessThan(total);
        // The dead process's consumers out of the trigger's and the queue's groups, as their sessions
        // ending would do 10 s later: the restart takes its partitions at once.
        TestKafka.removeMembers("conveyor-stream", prefix + "dispatch");
        gw.start().awaitReady(Duration.ofSeconds(90));
        producer.join(60_000);
        await().atMost(Duration.ofSeconds(120)).until(() -> seqs(fn).size() == total);
        Committed.toEnd(TestKafka.bootstrap(), "conveyor-stream", topic, Duration.ofSeconds(30));
      }
      Map<Integer, Set<String>> idsBySeq = new HashMap<>();
      for (FunctionServer.Call c : fn.calls()) {
        idsBySeq.computeIfAbsent(new JsonObject(c.body()).getInteger("seq"), k -> new java.util.TreeSet<>()).add(c.invocationId());
      }
      assertThat(idsBySeq).hasSize(total);
      assertThat(idsBySeq).allSatisfy((seq, ids) -> assertThat(ids).as("invocations of record %d", seq).hasSize(1));
    }
  }

  private static Set<Integer> seqs(FunctionServer fn) {
    return fn.calls().stream().map(c -> new JsonObject(c.body()).getInteger("seq")).collect(Collectors.toSet());
  }

  @Test
  void theConfigsOwnKafkaTriggerExampleRunsOnTheEmbeddedBroker() throws Exception {
    // config/conveyor.yaml as a new user has it, with its Kafka trigger example uncommented.
    String example = Files.readString(Path.of("..", "config", "conveyor.yaml"));
    int[] ports = Ports.free(2);
    String yaml = example.replace("# connectors:", "connectors:")
        .replace("#   - { type: kafka, name: orders", "  - { type: kafka, name: orders")
        .replace("8081", Integer.toString(ports[0]));
    assertThat(yaml).contains("\nconnectors:\n").contains("\n  - { type: kafka, name: orders, topic: orders");
    var config = dev.conveyor.engine.config.ConfigLoader.parse(yaml, Map.of("CONVEYOR_HTTP_PORT", "0", "CONVEYOR_ADMIN_PORT", "0"));
    assertThat(config.kafka().embedded()).isTrue();
    try (Conveyor gw = Conveyor.start(config, new Conveyor.Runtime(Files.createTempDirectory("conveyor-embedded"), ports[1]))) {
      try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", gw.bootstrapServers(),
          "acks", "all", "max.block.ms", "10000"), new StringSerializer(), new StringSerializer())) {
        // Fails with UnknownTopicOrPartition (after max.block.ms) unless the gateway created the topic.
        p.send(new ProducerRecord<>("orders", "o-1", "{\"order\":1}")).get(30, TimeUnit.SECONDS);
      }
      // The sample echo function ran it: its usage record says so.
      var usage = AsyncInvocationIT.records(gw.bootstrapServers(), gw.topics().usage(),
          r -> r.value().contains("\"trigger\":\"kafka\""), 1);
      assertThat(usage).hasSize(1);
      JsonObject data = new JsonObject(usage.get(0).value()).getJsonObject("data");
      assertThat(data.getString("function")).isEqualTo("echo");
      assertThat(data.getString("outcome")).isEqualTo("success");
    }
  }
}
