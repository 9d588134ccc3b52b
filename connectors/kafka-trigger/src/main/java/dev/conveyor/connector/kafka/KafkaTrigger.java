package dev.conveyor.connector.kafka;

import dev.conveyor.connector.spi.ConnectorContext;
import dev.conveyor.connector.spi.ConnectorContext.ConnectorMetrics;
import dev.conveyor.connector.spi.ConnectorContext.Submission;
import dev.conveyor.connector.spi.TriggerConnector;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.consumer.OffsetAndMetadata;
import io.vertx.kafka.client.producer.KafkaHeader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes a user topic and submits each record as an invocation: the value is the payload, the
 * record's {@code ce_*} headers become {@code ce-*} (the CloudEvents Kafka binding, binary mode),
 * and the function also gets {@code x-kafka-topic}, {@code x-kafka-partition}, {@code x-kafka-offset}
 * and {@code x-kafka-key}. Each record's dedupe key is {@code <name>:<topic>:<partition>:<offset>},
 * so a replay after a crash (records queued but not yet committed) queues nothing twice.
 *
 * <p>A source offset is committed only once every record before it is done: queued, or in ordered
 * mode finished (a terminal status). A record the gateway refuses for good (unknown function, too
 * large) is logged and skipped; one it cannot store now is tried again every second, holding the
 * commit. At most {@code maxInFlight} records are held at once: above it the consumer pauses.
 *
 * <p>Ordered mode: records with the same key form a chain, and the next one is submitted only after
 * the previous one's invocation has a terminal status (records without a key are not chained). Each
 * gets at most {@code poisonLimit} attempts (the function's retry policy, capped); a record still
 * failing then is dead-lettered by the gateway like any exhausted invocation, and its key moves on.
 * Because the commit waits for the terminal status, a restarted gateway replays the unfinished
 * record first (its dedupe key answers the same invocation, whose end it waits for), so the order
 * holds across crashes too.
 */
final class KafkaTrigger implements TriggerConnector {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaTrigger.class);
  private static final long LAG_EVERY_MS = 5000;

  /** One record held by the trigger, from arrival until done. */
  private static final class Held {
    final TopicPartition tp;
    final KafkaConsumerRecord<String, byte[]> rec;
    final Submission submission;
    boolean dropped; // its partition was revoked: its end no longer counts here

    Held(TopicPartition tp, KafkaConsumerRecord<String, byte[]> rec, Submission submission) {
      this.tp = tp;
      this.rec = rec;
      this.submission = submission;
    }
  }

  private final String name;
  private final String bootstrap;
  private final String topic;
  private final String group;
  private final String namespace;
  private final String function;
  private final int maxInFlight;
  private final boolean ordered;
  private final int poisonLimit;
  private final Map<String, String> properties;
  private final Map<TopicPartition, TreeSet<Long>> pending = new HashMap<>();
  private final Map<TopicPartition, Long> next = new HashMap<>();
  /** Ordered mode: per partition and key, the records waiting behind the one being run. */
  private final Map<TopicPartition, Map<String, ArrayDeque<Held>>> chains = new HashMap<>();
  private KafkaConsumer<String, byte[]> consumer;
  private ConnectorContext context;
  private ConnectorMetrics metrics;
  private Vertx vertx;
  private int inFlight;
  private boolean paused;
  /** close() was called: no consumer operation may follow. */
  private boolean closing;
  private boolean stopping;
  private long commitTimer;
  private long lagTimer;

  KafkaTrigger(String name, String bootstrap, String topic, String group, String namespace, String function, int maxInFlight,
      boolean ordered, int poisonLimit, Map<String, String> properties) {
    this.name = name;
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.group = group;
    this.namespace = namespace;
    this.function = function;
    this.maxInFlight = maxInFlight;
    this.ordered = ordered;
    this.poisonLimit = poisonLimit;
    this.properties = properties;
  }

  @Override
  public Future<Void> start(ConnectorContext ctx) {
    this.context = ctx;
    this.vertx = ctx.vertx();
    this.metrics = ctx.metrics(name, "kafka");
    consumer = KafkaConsumer.create(vertx, consumerConfig(bootstrap.isBlank() ? ctx.kafkaBootstrapServers() : bootstrap));
    consumer.handler(this::onRecord);
    consumer.exceptionHandler(err -> LOG.warn("trigger {}: {}", name, err.toString()));
    consumer.partitionsRevokedHandler(this::revoked);
    commitTimer = vertx.setPeriodic(500, id -> commit());
    lagTimer = vertx.setPeriodic(LAG_EVERY_MS, id -> measureLag());
    return consumer.subscribe(topic);
  }

  /** The source consumer's configuration: the trigger's {@code properties} over these defaults. */
  Map<String, String> consumerConfig(String bootstrapServers) {
    Map<String, String> config = new HashMap<>();
    config.put("bootstrap.servers", bootstrapServers);
    config.put("group.id", group);
    config.put("enable.auto.commit", "false");
    config.put("auto.offset.reset", "earliest");
    config.put("client.id", "conveyor-trigger-" + name);
    config.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    config.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    config.putAll(properties);
    // As the gateway's own consumers: a replica killed holds its partitions until its session
    // times out, and Kafka's default (45 s) is that long without records from them. The broker
    // sets both for groups on the newer protocol, whose consumers refuse them.
    if (!"consumer".equalsIgnoreCase(config.get("group.protocol"))) {
      config.putIfAbsent("session.timeout.ms", "10000");
      config.putIfAbsent("heartbeat.interval.ms", "3000");
    }
    return config;
  }

  private void onRecord(KafkaConsumerRecord<String, byte[]> rec) {
    metrics.received(1);
    TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
    pending.computeIfAbsent(tp, k -> new TreeSet<>()).add(rec.offset());
    next.merge(tp, rec.offset() + 1, Math::max);
    if (++inFlight >= maxInFlight && !paused) {
      paused = true;
      consumer.pause();
    }
    Held h = new Held(tp, rec, toSubmission(rec));
    if (!ordered || rec.key() == null) {
      submit(h);
      return;
    }
    Map<String, ArrayDeque<Held>> byKey = chains.computeIfAbsent(tp, k -> new HashMap<>());
    ArrayDeque<Held> waiting = byKey.get(rec.key());
    if (waiting != null) {
      waiting.add(h); // its key's previous record has not finished yet
    } else {
      byKey.put(rec.key(), new ArrayDeque<>());
      submit(h);
    }
  }

  private Submission toSubmission(KafkaConsumerRecord<String, byte[]> rec) {
    Map<String, String> headers = new LinkedHashMap<>();
    String contentType = null;
    for (KafkaHeader h : rec.headers()) {
      String k = h.key();
      String v = h.value() == null ? null : new String(h.value().getBytes(), StandardCharsets.UTF_8);
      if (v == null) continue;
      if (k.equalsIgnoreCase("content-type")) contentType = v;
      else if (k.startsWith("ce_")) headers.put("ce-" + k.substring(3), v);
    }
    if (contentType == null) contentType = headers.getOrDefault("ce-datacontenttype", "application/octet-stream");
    headers.put("x-kafka-topic", rec.topic());
    headers.put("x-kafka-partition", Integer.toString(rec.partition()));
    headers.put("x-kafka-offset", Long.toString(rec.offset()));
    if (rec.key() != null) headers.put("x-kafka-key", rec.key());
    String dedupe = name + ":" + rec.topic() + ":" + rec.partition() + ":" + rec.offset();
    return new Submission(namespace, function, contentType, rec.value() == null ? new byte[0] : rec.value(), headers, dedupe,
        "kafka", ordered && rec.key() != null ? poisonLimit : null);
  }

  private void submit(Held h) {
    if (h.dropped) return;
    context.submit(h.submission).onComplete(ar -> {
      if (ar.failed() && !(ar.cause() instanceof ConnectorContext.Rejected)) {
        if (stopping || h.dropped) return; // not committed: the next owner submits it (deduplicated)
        LOG.warn("trigger {}: queueing {}@{} failed ({}); again in 1 s", name, h.tp, h.rec.offset(), ar.cause().toString());
        vertx.setTimer(1000, id -> submit(h));
        return;
      }
      if (ar.failed()) {
        LOG.warn("trigger {}: record {}@{} skipped: {}", name, h.tp, h.rec.offset(), ar.cause().getMessage());
        done(h);
      } else if (ordered && h.rec.key() != null) {
        awaitEnd(h, ar.result());
      } else {
        done(h);
      }
    });
  }

  /** Ordered mode: the record counts as done, and its key moves on, when its invocation has ended. */
  private void awaitEnd(Held h, String invocationId) {
    context.outcome(invocationId).onComplete(ar -> {
      if (ar.succeeded() && !"succeeded".equals(ar.result())) {
        LOG.warn("trigger {}: record {}@{} (key {}) ended {} after at most {} attempts; dead-lettered, its key moves on", name,
            h.tp, h.rec.offset(), h.rec.key(), ar.result(), poisonLimit);
      }
      done(h);
    });
  }

  private void done(Held h) {
    if (h.dropped) return;
    TreeSet<Long> p = pending.get(h.tp);
    if (p != null) p.remove(h.rec.offset());
    inFlight--;
    if (ordered && h.rec.key() != null) {
      Map<String, ArrayDeque<Held>> byKey = chains.get(h.tp);
      ArrayDeque<Held> waiting = byKey == null ? null : byKey.get(h.rec.key());
      if (waiting != null) {
        Held following = waiting.poll();
        if (following != null) submit(following);
        else byKey.remove(h.rec.key());
      }
    }
    if (paused && !stopping && inFlight <= maxInFlight / 2) {
      paused = false;
      consumer.resume();
    }
  }

  /** Another replica takes these partitions: commit what is done, forget the rest (it is replayed there). */
  private void revoked(Set<TopicPartition> parts) {
    commit(); // not once closing: closing revokes every partition, after stop() committed
    for (TopicPartition tp : parts) {
      Map<String, ArrayDeque<Held>> byKey = chains.remove(tp);
      if (byKey != null) {
        for (ArrayDeque<Held> waiting : byKey.values()) {
          for (Held h : waiting) {
            h.dropped = true;
            inFlight--;
          }
        }
      }
      pending.remove(tp);
      next.remove(tp);
    }
  }

  /** Commits, per partition, up to the lowest offset not yet done. */
  private Future<Void> commit() {
    // Once close() began, a consumer operation would restart the closed read stream on a thread of
    // its own, beside the close (vertx-kafka-client's KafkaReadStreamImpl.submitTask).
    if (closing || consumer == null) return Future.succeededFuture();
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    next.forEach((tp, n) -> offsets.put(tp, new OffsetAndMetadata(commitPoint(tp, n), "")));
    if (offsets.isEmpty()) return Future.succeededFuture();
    return consumer.commit(offsets).<Void>mapEmpty().onFailure(err -> LOG.warn("trigger {}: commit failed: {}", name, err.toString()));
  }

  private long commitPoint(TopicPartition tp, long n) {
    TreeSet<Long> p = pending.get(tp);
    return p == null || p.isEmpty() ? n : p.first();
  }

  /** {@code conveyor_connector_lag_records}: per assigned partition, the end offset minus the commit point. */
  private void measureLag() {
    if (stopping) return;
    consumer.assignment().compose(parts -> parts.isEmpty() || stopping ? Future.succeededFuture(Map.<TopicPartition, Long>of())
        : consumer.endOffsets(parts)).onSuccess(ends -> ends.forEach((tp, end) -> {
          if (stopping) return;
          Long n = next.get(tp);
          if (n != null) {
            metrics.lagRecords(tp.getTopic() + "-" + tp.getPartition(), Math.max(0, end - commitPoint(tp, n)));
          } else {
            consumer.position(tp).onSuccess(pos -> metrics.lagRecords(tp.getTopic() + "-" + tp.getPartition(), Math.max(0, end - pos)));
          }
        })).onFailure(err -> LOG.debug("trigger {}: lag not measured: {}", name, err.toString()));
  }

  @Override
  public Future<Void> stop() {
    stopping = true;
    if (consumer == null) return Future.succeededFuture();
    vertx.cancelTimer(commitTimer);
    vertx.cancelTimer(lagTimer);
    return commit().otherwiseEmpty().compose(v -> {
      closing = true;
      return consumer.close();
    });
  }
}
