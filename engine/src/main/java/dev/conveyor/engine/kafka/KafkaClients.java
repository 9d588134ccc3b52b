package dev.conveyor.engine.kafka;

import dev.conveyor.engine.config.ConveyorConfig.KafkaSettings;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** The one place Kafka client settings are made: the delivery promises (docs/delivery.md) depend on them. */
public final class KafkaClients {

  /**
   * Closes a consumer at the end of the thread that polled it (leaving its group), whatever ended
   * that thread: an interrupt still flagged would make the close throw {@code InterruptException}
   * before its LeaveGroup went out (KafkaConsumer checks the flag on every network poll), and any
   * exception thrown here would end the thread uncaught. The flag is cleared for the close and set
   * again after it; a failure to close is logged.
   */
  public static void closeOnItsThread(org.apache.kafka.clients.consumer.Consumer<?, ?> consumer, java.time.Duration timeout,
      String what) {
    boolean interrupted = Thread.interrupted();
    try {
      consumer.close(timeout);
    } catch (RuntimeException e) {
      org.slf4j.LoggerFactory.getLogger(KafkaClients.class).warn("{}: closing its consumer: {}", what, e.toString());
    } finally {
      if (interrupted) Thread.currentThread().interrupt();
    }
  }
  /**
   * The most a fetch response may hold (Kafka's default is 50 MiB). The client reads a response into
   * one array; from 512 KiB on, that array is a humongous object for the G1 collector when its
   * regions are 1 MiB (every heap up to 2 GiB, the gateway's 512 MiB included), allocated straight
   * into the old generation, and each such allocation made while the old generation is past G1's
   * marking threshold starts a concurrent marking cycle. Draining a backlog, the consumers' large
   * responses started 17 of a run's 20 cycles (one every second or so); the collector's threads
   * spent 15.9 ms of CPU per 1,000 invocations with them and 11.9 without. Below the threshold the
   * responses are ordinary young garbage; at 448 KiB a fetch still carries a thousand invocations
   * with small bodies (a larger first batch still comes whole: Kafka returns it whatever this says).
   * Set {@code fetch.max.bytes} under {@code kafka.clientProperties} to change it.
   */
  public static final int FETCH_MAX_BYTES = 448 * 1024;
  private final String bootstrap;
  private final KafkaSettings settings;

  public KafkaClients(String bootstrap, KafkaSettings settings) {
    this.bootstrap = bootstrap;
    this.settings = settings;
  }

  public String bootstrap() {
    return bootstrap;
  }

  /** The producers' {@code batch.size} unless {@code kafka.clientProperties} sets another. */
  static final int BATCH_SIZE = 64 * 1024;

  /** The producers' {@code batch.size}: what one new batch takes from a producer's buffer, at least. */
  public int producerBatchSize() {
    Object v = settings.clientProperties().get(ProducerConfig.BATCH_SIZE_CONFIG);
    return v == null ? BATCH_SIZE : Integer.parseInt(v.toString().trim());
  }

  public Map<String, Object> common(String clientId) {
    Map<String, Object> m = new HashMap<>(settings.clientProperties());
    m.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    m.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
    m.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
    return m;
  }

  /**
   * Accepted means stored: acks=all and idempotence are enforced whatever the config says; the
   * rest (batching, compression) are defaults an operator may tune under kafka.clientProperties.
   * A bounded delivery timeout makes a dead broker answer 503 instead of hanging.
   */
  public KafkaProducer<String, byte[]> producer(String clientId) {
    return producer(clientId, settings.lingerMs());
  }

  /** The same with another {@code linger.ms}: for records nobody waits on, batching is worth a few ms. */
  public KafkaProducer<String, byte[]> producer(String clientId, int lingerMs) {
    Map<String, Object> m = new HashMap<>();
    int delivery = (int) settings.deliveryTimeout().toMillis();
    m.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
    m.put(ProducerConfig.BATCH_SIZE_CONFIG, BATCH_SIZE);
    m.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
    m.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.MAX_MESSAGE_BYTES + 64 * 1024);
    m.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.max(1000, delivery / 2));
    m.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, delivery);
    // One thread feeds the producer for every caller: a send may hold it at most this long (when
    // the broker is unreachable and metadata must be fetched); failing fast is the right answer then.
    m.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Math.min(delivery, 1000));
    // Keep every topic's metadata: a topic dropped after idling would make its next send block.
    m.put(ProducerConfig.METADATA_MAX_IDLE_CONFIG, 7 * 24 * 3_600_000);
    m.putAll(common(clientId));
    m.put(ProducerConfig.ACKS_CONFIG, "all");
    m.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    m.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    m.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return new KafkaProducer<>(m);
  }

  /** Offsets are committed by hand, only once an outcome is stored (at least once). */
  public Map<String, String> consumerConfig(String clientId, String group) {
    Map<String, String> m = new HashMap<>();
    common(clientId).forEach((k, v) -> m.put(k, String.valueOf(v)));
    if (group != null) m.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    m.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    m.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    m.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    // A replica that died (SIGKILL) holds its partitions until its session times out: keep it short.
    m.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
    m.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "3000");
    m.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "1000");
    m.putIfAbsent(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Integer.toString(FETCH_MAX_BYTES));
    m.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    m.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    return m;
  }

  /**
   * {@code config} with fetches that wait for bytes: the broker answers a fetch once {@code minBytes}
   * are there or {@code maxWaitMs} passed. With Kafka's default ({@code fetch.min.bytes} 1) it
   * answers as soon as one record arrives, so at a moderate rate every few records cost a fetch, a
   * poll and a hand-off between threads, on the broker and here (profiled at 1,500 invocations a
   * second: the consumers' polling was a third of a replica's CPU). Values set under
   * {@code kafka.clientProperties} win.
   */
  public Map<String, String> waitingFetches(Map<String, String> config, int minBytes, int maxWaitMs) {
    Map<String, String> m = new HashMap<>(config);
    if (!settings.clientProperties().containsKey(ConsumerConfig.FETCH_MIN_BYTES_CONFIG)) {
      m.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, Integer.toString(minBytes));
    }
    if (!settings.clientProperties().containsKey(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG)) {
      m.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, Integer.toString(maxWaitMs));
    }
    return m;
  }

  public KafkaConsumer<String, byte[]> consumer(String clientId, String group) {
    return new KafkaConsumer<>(new HashMap<>(consumerConfig(clientId, group)));
  }

  public KafkaConsumer<String, byte[]> consumer(String clientId, String group, Deserializer<byte[]> values,
      Map<String, String> overrides) {
    Map<String, Object> m = new HashMap<>(consumerConfig(clientId, group));
    m.putAll(overrides);
    return new KafkaConsumer<>(m, new StringDeserializer(), values);
  }

  public Admin admin(String clientId) {
    Map<String, Object> m = common(clientId);
    m.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000);
    m.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
    return Admin.create(m);
  }
}
