package dev.conveyor.engine.connect;

import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.testkit.ConnectorContract;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Kafka topic trigger passes the connector contract against a real broker: each test gets a
 * topic and group of its own, and {@link #emit} produces records to it.
 */
@Alone
class KafkaTriggerContractIT extends ConnectorContract {
  private String topic;
  private int sequence;

  @Override
  protected ConnectorFactory<?> factory() {
    for (ConnectorFactory<?> f : ServiceLoader.load(ConnectorFactory.class)) {
      if (f.type().equals("kafka")) return f;
    }
    throw new AssertionError("no kafka connector on the class path");
  }

  @Override
  protected JsonObject config() {
    if (topic == null) {
      topic = Gateways.prefix("contract") + "source";
      try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()))) {
        admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return new JsonObject().put("type", "kafka").put("name", "contract").put("bootstrapServers", "").put("topic", topic)
        .put("group", topic + "-group").put("target", new JsonObject().put("namespace", "acme").put("function", "echo"));
  }

  @Override
  protected String kafkaBootstrapServers() {
    return TestKafka.bootstrap();
  }

  @Override
  protected void emit(int n) throws Exception {
    try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap(),
        "acks", "all"), new StringSerializer(), new StringSerializer())) {
      for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(topic, "k" + sequence, "{\"seq\":" + sequence++ + "}")).get();
    }
  }

  @Override
  protected String trigger() {
    return "kafka";
  }

  /**
   * Stopping closes the source consumer, which revokes its partitions; vertx-kafka-client hands the
   * revoke to the trigger after close() began, and a consumer operation then (a commit) restarts the
   * closed read stream on a worker thread of its own (KafkaReadStreamImpl.submitTask): the Kafka
   * client refuses it beside the close, and that thread then waits for tasks forever.
   */
  @org.junit.jupiter.api.Test
  void aStoppedTriggerLeavesNoConsumerThreadWaitingForWork() throws Exception {
    java.util.Set<Thread> before = java.util.Set.copyOf(Thread.getAllStackTraces().keySet());
    dev.conveyor.connector.spi.TriggerConnector c = dev.conveyor.connector.testkit.ConnectorConfigs.create(factory(), "stopping", config());
    c.start(context).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    emit(3);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> context.stored().size() >= 3);
    c.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
        org.assertj.core.api.Assertions.assertThat(dev.conveyor.engine.testing.ConsumerThreads.waitingForWork(before))
            .as("consumer threads waiting for work after the stop").isEmpty());
  }
}
