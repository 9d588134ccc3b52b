package dev.conveyor.engine.metering;

import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.kafka.KafkaClients;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.CloseOptions;
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
  private final Properties props;
  private final String usageTopic;
  private final String rollupTopic;
  private final int dedupeDays;
  private final UsageRollupTopology.BudgetEvents budgets;
  private final Path appStateDir;
  private volatile KafkaStreams streams;
  private ConveyorConfig.DedupeEntries dedupeEntries = ConveyorConfig.DedupeEntries.json;

  public UsageStreams(String bootstrap, Map<String, Object> clientProperties, String applicationId, String usageTopic,
      String rollupTopic, int dedupeDays, int replicationFactor, Path stateDir) {
    this(bootstrap, clientProperties, applicationId, usageTopic, rollupTopic, dedupeDays, replicationFactor, stateDir, null);
  }

  /** {@code budgets}: where budget events go and what the budgets are; null: no budget events. */
  public UsageStreams(String bootstrap, Map<String, Object> clientProperties, String applicationId, String usageTopic,
      String rollupTopic, int dedupeDays, int replicationFactor, Path stateDir, UsageRollupTopology.BudgetEvents budgets) {
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
    // A fetch waits for 64 KiB of usage records, or 500 ms: below a few thousand records a second,
    // a fetch returning each record as it came cost the broker and this thread a request apiece. The
    // rollups are behind by a second or two anyway (they go out once a second, in a transaction).
    p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.FETCH_MIN_BYTES_CONFIG), 64 * 1024);
    p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG), 500);
    // Fetch responses below the collector's humongous size, as the gateway's other consumers' (KafkaClients.FETCH_MAX_BYTES).
    if (!clientProperties.containsKey(ConsumerConfig.FETCH_MAX_BYTES_CONFIG)
        && !clientProperties.containsKey(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_BYTES_CONFIG))) {
      p.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_BYTES_CONFIG), KafkaClients.FETCH_MAX_BYTES);
    }
    this.props = p;
    this.usageTopic = usageTopic;
    this.rollupTopic = rollupTopic;
    this.dedupeDays = dedupeDays;
    this.budgets = budgets;
    this.appStateDir = stateDir.resolve(applicationId);
  }

  /** How the rollups write the entries of record ids they keep ({@code metering.dedupeEntries}); before {@link #start}. */
  public UsageStreams dedupeEntries(ConveyorConfig.DedupeEntries form) {
    this.dedupeEntries = java.util.Objects.requireNonNull(form);
    return this;
  }

  /** The Kafka Streams configuration it starts with (a copy). */
  Properties properties() {
    Properties copy = new Properties();
    copy.putAll(props);
    return copy;
  }

  /**
   * Opens the local stores and starts. The stores are a cache of the changelog topics (exactly-once:
   * Kafka Streams itself wipes a task's state it cannot trust). A SIGKILL can also leave a RocksDB
   * store that does not open at all (its {@code CURRENT} naming a manifest that lost the files it
   * lists; the stores run without a write-ahead log); then the replica would never start again. So
   * when opening the local state fails, it is deleted once and rebuilt from the changelogs, as on a
   * new pod.
   */
  public UsageStreams start() {
    try {
      streams = open();
    } catch (org.apache.kafka.streams.errors.StreamsException e) {
      LOG.warn("usage rollups: the local state at {} could not be opened ({}); rebuilding it from the changelogs",
          appStateDir, e.getMessage());
      deleteRecursively(appStateDir);
      streams = open();
    }
    return this;
  }

  private KafkaStreams open() {
    KafkaStreams s = new KafkaStreams(UsageRollupTopology.build(usageTopic, rollupTopic, dedupeDays, budgets, dedupeEntries), props);
    try {
      s.setUncaughtExceptionHandler(e -> {
        LOG.error("usage rollups: {}; replacing the stream thread", e.toString());
        return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
      });
      s.start();
      return s;
    } catch (RuntimeException e) {
      s.close(java.time.Duration.ofSeconds(10));
      throw e;
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!java.nio.file.Files.exists(dir)) return;
    try (var walk = java.nio.file.Files.walk(dir)) {
      for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) java.nio.file.Files.deleteIfExists(f);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("deleting the rollups' local state at " + dir, e);
    }
  }

  /** The running app, for its metrics. */
  public KafkaStreams streams() {
    return streams;
  }

  /**
   * Stops and leaves the group. Kafka Streams otherwise stays a member after close, and its tasks wait
   * out the session (10 s) before another replica, or this one started again, gets them: on a rolling
   * restart, usage rollups would stall that long for each replica.
   */
  @Override
  public void close() {
    KafkaStreams s = streams;
    if (s != null) {
      s.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
          .withTimeout(java.time.Duration.ofSeconds(20)));
    }
  }
}
