package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.kafka.KafkaClients;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsageStreamsTest {
  @TempDir Path dir;

  private UsageStreams streams(Map<String, Object> clientProperties) {
    return new UsageStreams("127.0.0.1:9092", clientProperties, "app", "usage", "rollups", 35, 1, dir, null);
  }

  @Test
  void itsConsumersFetchAsTheGatewaysOthersDoBelowAHumongousArray() {
    StreamsConfig config = new StreamsConfig(streams(Map.of()).properties());
    // the main consumer (usage records) and the restore consumer (changelogs) alike
    assertThat(config.getMainConsumerConfigs("g", "c", 0)).containsEntry("fetch.max.bytes", KafkaClients.FETCH_MAX_BYTES);
    assertThat(config.getRestoreConsumerConfigs("c")).containsEntry("fetch.max.bytes", KafkaClients.FETCH_MAX_BYTES);
  }

  @Test
  void anOperatorsFetchSizeWins() {
    StreamsConfig config = new StreamsConfig(streams(Map.of("fetch.max.bytes", 1 << 20)).properties());
    assertThat(config.getMainConsumerConfigs("g", "c", 0)).containsEntry("fetch.max.bytes", 1 << 20);
  }
}
