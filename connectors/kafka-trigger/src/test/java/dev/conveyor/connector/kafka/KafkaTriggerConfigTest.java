package dev.conveyor.connector.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conveyor.config.ConfigException;
import dev.conveyor.connector.kafka.KafkaTriggerFactory.Config;
import dev.conveyor.connector.testkit.ConnectorConfigs;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A {@code type: kafka} entry is bound as the gateway's config file is: defaults, strict types, ranges, errors naming the key. */
class KafkaTriggerConfigTest {
  private final KafkaTriggerFactory factory = new KafkaTriggerFactory();

  private static JsonObject entry() {
    return new JsonObject().put("type", "kafka").put("name", "orders").put("topic", "orders")
        .put("target", new JsonObject().put("namespace", "acme").put("function", "echo"));
  }

  private Config bind(JsonObject entry) {
    return ConnectorConfigs.bind(factory, entry);
  }

  @Test
  void keysLeftOutTakeTheirDefaults() {
    Config c = bind(entry());
    assertThat(c.bootstrapServers()).isEmpty();
    assertThat(c.group()).as("conveyor-<name>, computed by the factory").isNull();
    assertThat(c.maxInFlight()).isEqualTo(64);
    assertThat(c.ordered()).isFalse();
    assertThat(c.poisonLimit()).isEqualTo(3);
    assertThat(c.properties()).isEmpty();
    assertThat(c.target()).isEqualTo(new KafkaTriggerFactory.Target("acme", "echo"));
  }

  @Test
  void kafkaPropertiesTakeAnyScalarAsText() {
    Config c = bind(entry().put("properties", new JsonObject().put("max.poll.records", 500).put("check.crcs", true)
        .put("security.protocol", "SASL_SSL")));
    assertThat(c.properties()).isEqualTo(Map.of("max.poll.records", "500", "check.crcs", "true", "security.protocol", "SASL_SSL"));
    assertThatThrownBy(() -> bind(entry().put("properties", new JsonObject().put("sasl", new JsonObject().put("a", 1)))))
        .hasMessage("properties.sasl: expected a string, a number or true/false");
  }

  @Test
  void theBindingIsStrict() {
    assertThatThrownBy(() -> bind(entry().put("tpoic", "orders"))).isInstanceOf(ConfigException.class)
        .hasMessage("tpoic: unknown key");
    assertThatThrownBy(() -> bind(entry().put("target", new JsonObject().put("namespace", "acme").put("function", "echo")
        .put("fn", "x")))).hasMessage("target.fn: unknown key");
    assertThatThrownBy(() -> bind(entry().put("maxInFlight", "64"))).hasMessage("maxInFlight: expected a whole number, got '64'");
    assertThatThrownBy(() -> bind(entry().put("poisonLimit", 1.5))).hasMessage("poisonLimit: expected a whole number, got '1.5'");
    assertThatThrownBy(() -> bind(entry().put("ordered", "true"))).hasMessage("ordered: expected true or false, got 'true'");
    assertThatThrownBy(() -> bind(entry().put("topic", 5))).hasMessage("topic: expected a string, got '5'");
    assertThatThrownBy(() -> bind(entry().put("target", "acme/echo"))).hasMessageStartingWith("target: expected a mapping");
  }

  @Test
  void requiredKeysAndRangesAreNamed() {
    JsonObject noTopic = entry();
    noTopic.remove("topic");
    assertThatThrownBy(() -> bind(noTopic)).hasMessage("topic: is required");
    assertThatThrownBy(() -> bind(entry().put("topic", " "))).hasMessage("topic: is required, got ' '");
    JsonObject noTarget = entry();
    noTarget.remove("target");
    assertThatThrownBy(() -> bind(noTarget)).hasMessage("target: is required: { namespace, function }");
    assertThatThrownBy(() -> bind(entry().put("target", new JsonObject().put("function", "echo"))))
        .hasMessage("target.namespace: is required");
    assertThatThrownBy(() -> bind(entry().put("poisonLimit", 0))).hasMessage("poisonLimit: must be between 1 and 100, got 0");
    assertThatThrownBy(() -> bind(entry().put("poisonLimit", 101))).hasMessage("poisonLimit: must be between 1 and 100, got 101");
    assertThatThrownBy(() -> bind(entry().put("maxInFlight", 0))).hasMessage("maxInFlight: must be between 1 and 10000, got 0");
    assertThatThrownBy(() -> bind(entry().put("maxInFlight", 10_001)))
        .hasMessage("maxInFlight: must be between 1 and 10000, got 10001");
  }

  @Test
  void aKilledReplicasPartitionsMoveAfterTenSecondsUnlessThePropertiesSayOtherwise() {
    KafkaTrigger t = (KafkaTrigger) factory.create("orders", bind(entry()));
    assertThat(t.consumerConfig("k:9092")).containsEntry("session.timeout.ms", "10000").containsEntry("bootstrap.servers", "k:9092")
        .containsEntry("group.id", "conveyor-orders").containsEntry("enable.auto.commit", "false");
    KafkaTrigger own = (KafkaTrigger) factory.create("orders",
        bind(entry().put("properties", new JsonObject().put("session.timeout.ms", 30000))));
    assertThat(own.consumerConfig("k:9092")).containsEntry("session.timeout.ms", "30000");
    // The newer group protocol: the broker sets the session, and the consumer refuses both keys.
    KafkaTrigger next = (KafkaTrigger) factory.create("orders",
        bind(entry().put("properties", new JsonObject().put("group.protocol", "consumer"))));
    assertThat(next.consumerConfig("k:9092")).doesNotContainKeys("session.timeout.ms", "heartbeat.interval.ms");
    new org.apache.kafka.clients.consumer.ConsumerConfig(new java.util.HashMap<String, Object>(next.consumerConfig("k:9092")));
  }
}
