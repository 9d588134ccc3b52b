package dev.conveyor.engine.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConveyorConfig.KafkaSettings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KafkaClientsTest {
  private static KafkaClients clients(Map<String, String> clientProperties) {
    return new KafkaClients("127.0.0.1:9092", new KafkaSettings("127.0.0.1:9092", "t.", 6, (short) 1, Duration.ofSeconds(10), 0, 5,
        clientProperties, dev.conveyor.engine.config.ConveyorConfig.QueueHeaders.perField,
        dev.conveyor.engine.config.ConveyorConfig.StatusRecords.json));
  }

  @Test
  void aConsumerThatMayWaitFetchesForBytesUpToItsWait() {
    KafkaClients defaults = clients(Map.of());
    Map<String, String> c = defaults.waitingFetches(defaults.consumerConfig("dispatch", "g"), 16 * 1024, 5);
    assertThat(c).containsEntry("fetch.min.bytes", "16384").containsEntry("fetch.max.wait.ms", "5")
        .containsEntry("group.id", "g").containsEntry("isolation.level", "read_committed");
  }

  @Test
  void anOperatorsFetchSettingsWin() {
    KafkaClients tuned = clients(Map.of("fetch.min.bytes", "1", "fetch.max.wait.ms", "50"));
    Map<String, String> c = tuned.waitingFetches(tuned.consumerConfig("dispatch", "g"), 16 * 1024, 5);
    assertThat(c).containsEntry("fetch.min.bytes", "1").containsEntry("fetch.max.wait.ms", "50");
  }

  @Test
  void theOverridesOfAFollowerKeepTheirOwnSettings() {
    Map<String, String> c = clients(Map.of()).waitingFetches(Map.of("max.poll.records", "5000"), 64 * 1024, 100);
    assertThat(c).containsOnly(Map.entry("max.poll.records", "5000"), Map.entry("fetch.min.bytes", "65536"),
        Map.entry("fetch.max.wait.ms", "100"));
  }

  @Test
  void aFetchResponseStaysBelowHalfAG1RegionOfAHeapUpTo2GiB() {
    Map<String, String> c = clients(Map.of()).consumerConfig("status", null);
    // G1's regions are 1 MiB up to a 2 GiB heap; an array of half a region or more is humongous
    assertThat(Integer.parseInt(c.get("fetch.max.bytes"))).isEqualTo(KafkaClients.FETCH_MAX_BYTES).isLessThan(512 * 1024 - 16 * 1024);
    assertThat(new org.apache.kafka.clients.consumer.ConsumerConfig(new java.util.HashMap<String, Object>(c))
        .getInt("fetch.max.bytes")).isEqualTo(KafkaClients.FETCH_MAX_BYTES);
  }

  @Test
  void anOperatorsFetchSizeWins() {
    assertThat(clients(Map.of("fetch.max.bytes", "1048576")).consumerConfig("status", null)).containsEntry("fetch.max.bytes", "1048576");
  }
}
