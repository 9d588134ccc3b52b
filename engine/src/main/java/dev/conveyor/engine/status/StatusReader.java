package dev.conveyor.engine.status;

import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.queue.InvocationCodec;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Materialises every invocation's status on this replica, from two topics, without a consumer
 * group (each replica needs everything):
 * <ul>
 *   <li>{@code conveyor.invocations}, headers only (payloads are skipped, not copied): each record
 *       is an invocation {@code queued} at version 1. It is read from the dispatch group's committed
 *       offsets on, because everything before them already has a terminal status.
 *   <li>{@code conveyor.status}, compacted, from the beginning: every later change.
 * </ul>
 * Runs on a thread of its own because {@code KafkaConsumer.poll} blocks. {@link #caughtUp()}
 * completes once both reached the end offsets seen at start: only then are status reads and
 * idempotency complete after a restart, so the gateway is not ready before.
 */
public final class StatusReader implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StatusReader.class);

  /** Copies status values; drops invocation payloads, which the status does not need. */
  private static final class Values implements Deserializer<byte[]> {
    private final String skipTopic;

    Values(String skipTopic) {
      this.skipTopic = skipTopic;
    }

    @Override
    public byte[] deserialize(String topic, byte[] data) {
      return topic.equals(skipTopic) ? null : data;
    }

    @Override
    public byte[] deserialize(String topic, Headers headers, ByteBuffer data) {
      if (topic.equals(skipTopic) || data == null) return null;
      byte[] out = new byte[data.remaining()];
      data.get(out);
      return out;
    }
  }

  private final KafkaConsumer<String, byte[]> consumer;
  private final Admin admin;
  private final StatusStore store;
  private final String statusTopic;
  private final String invocationsTopic;
  private final String dispatchGroup;
  private final CompletableFuture<Void> caughtUp = new CompletableFuture<>();
  private final Thread thread;
  private volatile boolean running = true;

  public StatusReader(KafkaClients clients, Admin admin, StatusStore store, String statusTopic, String invocationsTopic,
      String dispatchGroup) {
    // Status may lag a few ms behind: fetch in batches and skip CRC checks, the reader is on
    // every replica's hot path for every invocation.
    this.consumer = clients.consumer("conveyor-status-reader", null, new Values(invocationsTopic), Map.of(
        "check.crcs", "false", "fetch.min.bytes", "16384", "fetch.max.wait.ms", "20", "max.poll.records", "5000"));
    this.admin = admin;
    this.store = store;
    this.statusTopic = statusTopic;
    this.invocationsTopic = invocationsTopic;
    this.dispatchGroup = dispatchGroup;
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

  private List<TopicPartition> partitions(String topic) {
    List<TopicPartition> out = new ArrayList<>();
    consumer.partitionsFor(topic, Duration.ofMinutes(5)).forEach(p -> out.add(new TopicPartition(topic, p.partition())));
    return out;
  }

  private void run() {
    try {
      List<TopicPartition> status = partitions(statusTopic);
      List<TopicPartition> queue = partitions(invocationsTopic);
      List<TopicPartition> all = new ArrayList<>(status);
      all.addAll(queue);
      consumer.assign(all);
      consumer.seekToBeginning(all);
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(dispatchGroup).partitionsToOffsetAndMetadata().get();
      for (TopicPartition tp : queue) {
        OffsetAndMetadata om = committed.get(tp);
        if (om != null) consumer.seek(tp, om.offset());
      }
      Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(all, Duration.ofMinutes(5)));
      while (running) {
        ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(200));
        for (ConsumerRecord<String, byte[]> r : records) {
          try {
            if (r.topic().equals(invocationsTopic)) {
              store.apply(InvocationStatus.queued(InvocationCodec.decode(r.headers(), null)), null);
            } else if (r.value() != null) {
              StatusCodec.Envelope e = StatusCodec.decode(r.value());
              if (e.status() != null) store.apply(e.status(), e.result());
            }
          } catch (Exception ex) {
            LOG.warn("skipping an unreadable record at {}-{}@{}", r.topic(), r.partition(), r.offset());
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
