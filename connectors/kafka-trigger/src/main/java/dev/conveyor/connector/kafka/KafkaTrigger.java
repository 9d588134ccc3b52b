package dev.conveyor.connector.kafka;

import dev.conveyor.connector.spi.ConnectorContext;
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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumes a user topic and submits each record as an invocation: the value is the payload, the
 * record's {@code ce_*} headers become {@code ce-*} (the CloudEvents Kafka binding, binary mode),
 * and the function also gets {@code x-kafka-topic}, {@code x-kafka-partition}, {@code x-kafka-offset}
 * and {@code x-kafka-key}. A source offset is committed only after every record before it is
 * durably queued; each record's dedupe key is {@code <name>:<topic>:<partition>:<offset>}, so a
 * replay after a crash (records queued but not yet committed) queues nothing twice. A record the
 * gateway refuses for good (unknown function, too large) is logged and skipped; one it cannot store
 * now is tried again every second, holding the commit. At most {@code maxInFlight} records are
 * being queued at once: above it the consumer pauses.
 */
final class KafkaTrigger implements TriggerConnector {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaTrigger.class);

  private final String name;
  private final String bootstrap;
  private final String topic;
  private final String group;
  private final String namespace;
  private final String function;
  private final int maxInFlight;
  private final Map<String, String> properties;
  private final Map<TopicPartition, TreeSet<Long>> pending = new HashMap<>();
  private final Map<TopicPartition, Long> next = new HashMap<>();
  private KafkaConsumer<String, byte[]> consumer;
  private ConnectorContext context;
  private Vertx vertx;
  private int inFlight;
  private boolean paused;
  private boolean stopping;
  private long commitTimer;

  KafkaTrigger(String name, String bootstrap, String topic, String group, String namespace, String function, int maxInFlight,
      Map<String, String> properties) {
    this.name = name;
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.group = group;
    this.namespace = namespace;
    this.function = function;
    this.maxInFlight = maxInFlight;
    this.properties = properties;
  }

  @Override
  public Future<Void> start(ConnectorContext ctx) {
    this.context = ctx;
    this.vertx = ctx.vertx();
    Map<String, String> config = new HashMap<>();
    config.put("bootstrap.servers", bootstrap.isBlank() ? ctx.kafkaBootstrapServers() : bootstrap);
    config.put("group.id", group);
    config.put("enable.auto.commit", "false");
    config.put("auto.offset.reset", "earliest");
    config.put("client.id", "conveyor-trigger-" + name);
    config.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    config.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
    config.putAll(properties);
    consumer = KafkaConsumer.create(vertx, config);
    consumer.handler(this::onRecord);
    consumer.exceptionHandler(err -> LOG.warn("trigger {}: {}", name, err.toString()));
    consumer.partitionsRevokedHandler(parts -> {
      commit();
      parts.forEach(tp -> {
        pending.remove(tp);
        next.remove(tp);
      });
    });
    commitTimer = vertx.setPeriodic(500, id -> commit());
    return consumer.subscribe(topic);
  }

  private void onRecord(KafkaConsumerRecord<String, byte[]> rec) {
    TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
    pending.computeIfAbsent(tp, k -> new TreeSet<>()).add(rec.offset());
    next.merge(tp, rec.offset() + 1, Math::max);
    if (++inFlight >= maxInFlight && !paused) {
      paused = true;
      consumer.pause();
    }
    submit(tp, rec, toSubmission(rec));
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
    return new Submission(namespace, function, contentType, rec.value() == null ? new byte[0] : rec.value(), headers, dedupe, "kafka");
  }

  private void submit(TopicPartition tp, KafkaConsumerRecord<String, byte[]> rec, Submission s) {
    context.submit(s).onComplete(ar -> {
      if (ar.failed() && !(ar.cause() instanceof ConnectorContext.Rejected)) {
        if (stopping) return; // not committed: the next owner submits it (deduplicated)
        LOG.warn("trigger {}: queueing {}-{}@{} failed ({}); again in 1 s", name, rec.topic(), rec.partition(), rec.offset(),
            ar.cause().toString());
        vertx.setTimer(1000, id -> submit(tp, rec, s));
        return;
      }
      if (ar.failed()) {
        LOG.warn("trigger {}: record {}-{}@{} skipped: {}", name, rec.topic(), rec.partition(), rec.offset(), ar.cause().getMessage());
      }
      TreeSet<Long> p = pending.get(tp);
      if (p != null) p.remove(rec.offset());
      inFlight--;
      if (paused && !stopping && inFlight <= maxInFlight / 2) {
        paused = false;
        consumer.resume();
      }
    });
  }

  /** Commits, per partition, up to the lowest offset not yet queued. */
  private Future<Void> commit() {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    next.forEach((tp, n) -> {
      TreeSet<Long> p = pending.get(tp);
      long upTo = p == null || p.isEmpty() ? n : p.first();
      offsets.put(tp, new OffsetAndMetadata(upTo, ""));
    });
    if (offsets.isEmpty() || consumer == null) return Future.succeededFuture();
    return consumer.commit(offsets).<Void>mapEmpty().onFailure(err -> LOG.warn("trigger {}: commit failed: {}", name, err.toString()));
  }

  @Override
  public Future<Void> stop() {
    stopping = true;
    if (consumer == null) return Future.succeededFuture();
    vertx.cancelTimer(commitTimer);
    return commit().otherwiseEmpty().compose(v -> consumer.close());
  }
}
