package dev.conveyor.engine.status;

import dev.conveyor.engine.kafka.KafkaClients;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replays the compacted status topic into the {@link StatusStore} and then follows it, on every
 * replica, without a consumer group (each replica needs every status). Invocations still queued
 * are not here: {@link QueueLookup} finds them on demand. Runs on a thread of its own because
 * {@code KafkaConsumer.poll} blocks. {@link #caughtUp()} completes once the replay reached the end
 * offsets seen at start: only then are status reads and idempotency complete after a restart, so
 * the gateway is not ready before.
 */
public final class StatusReader implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StatusReader.class);

  private final KafkaConsumer<String, byte[]> consumer;
  private final StatusStore store;
  private final String topic;
  private final CompletableFuture<Void> caughtUp = new CompletableFuture<>();
  private final Thread thread;
  private volatile boolean running = true;

  public StatusReader(KafkaClients clients, StatusStore store, String topic) {
    // Status may lag a few ms: fetch in batches, skip CRC checks (the broker checked them).
    this.consumer = clients.consumer("conveyor-status-reader", null,
        new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
        Map.of("check.crcs", "false", "fetch.max.wait.ms", "20", "max.poll.records", "5000"));
    this.store = store;
    this.topic = topic;
    this.thread = new Thread(this::run, "conveyor-status-reader");
    this.thread.setDaemon(true);
  }

  public StatusReader start() {
    thread.start();
    return this;
  }

  public CompletableFuture<Void> caughtUp() {
    return caughtUp;
  }

  /** False once the reader stopped for good: statuses would go stale, so the replica is not ready. */
  public boolean alive() {
    return thread.isAlive();
  }

  private void run() {
    try {
      List<TopicPartition> parts = new ArrayList<>();
      consumer.partitionsFor(topic, Duration.ofMinutes(5)).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(parts, Duration.ofMinutes(5)));
      while (running) {
        ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<String, byte[]> r : records) {
          if (r.value() == null) continue;
          try {
            StatusCodec.Envelope e = StatusCodec.decode(r.value());
            if (e.status() != null) store.apply(e.status(), e.result());
          } catch (Exception ex) {
            LOG.warn("skipping an unreadable status record at {}-{}@{}", r.topic(), r.partition(), r.offset());
          }
        }
        if (!caughtUp.isDone()) {
          end.entrySet().removeIf(en -> consumer.position(en.getKey()) >= en.getValue());
          if (end.isEmpty()) caughtUp.complete(null);
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (Exception e) {
      if (running) LOG.error("status reader stopped: {}", e.toString());
      caughtUp.completeExceptionally(e);
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
