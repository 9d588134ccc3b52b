package dev.conveyor.engine.metering;

import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link UsageRollupTopology} inside the gateway: one Kafka Streams instance per replica,
 * all in one application ({@code <prefix>usage-rollups}), so the usage topic's partitions (and the
 * stores of their tenants) are spread over the replicas and move when one dies. Exactly-once v2;
 * state under {@code <dataDir>/streams}, restored from its changelog topics when missing. It runs
 * on its own threads and never holds up the API: rollups lag raw usage by about a commit interval.
 */
public final class UsageStreams implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(UsageStreams.class);
  private final KafkaStreams streams;

  public UsageStreams(String bootstrap, Map<String, Object> clientProperties, String applicationId, String usageTopic,
      String rollupTopic, int dedupeDays, int replicationFactor, Path stateDir) {
    Properties p = new Properties();
    p.putAll(clientProperties);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, replicationFactor > 0 ? replicationFactor : -1);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
    this.streams = new KafkaStreams(UsageRollupTopology.build(usageTopic, rollupTopic, dedupeDays), p);
    streams.setUncaughtExceptionHandler(e -> {
      LOG.error("usage rollups: {}; replacing the stream thread", e.toString());
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
  }

  public UsageStreams start() {
    streams.start();
    return this;
  }

  /** The running app, for its metrics. */
  public KafkaStreams streams() {
    return streams;
  }

  @Override
  public void close() {
    streams.close(java.time.Duration.ofSeconds(20));
  }
}
