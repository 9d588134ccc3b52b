package dev.conveyor.engine.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a whole topic from its beginning and then follows it, without a consumer group (every
 * replica needs every record), handing each record to {@code handler}. Runs on a thread of its own
 * because {@code KafkaConsumer.poll} blocks. {@link #caughtUp()} completes once it reached the end
 * offsets seen at start; {@link #alive()} turns false if it stopped for good.
 */
public final class TopicFollower implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TopicFollower.class);

  private final KafkaConsumer<String, byte[]> consumer;
  private final String topic;
  private final Consumer<ConsumerRecord<String, byte[]>> handler;
  private final CompletableFuture<Void> caughtUp = new CompletableFuture<>();
  private final Thread thread;
  private volatile boolean running = true;

  public TopicFollower(KafkaConsumer<String, byte[]> consumer, String topic, String name,
      Consumer<ConsumerRecord<String, byte[]>> handler) {
    this.consumer = consumer;
    this.topic = topic;
    this.handler = handler;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  public TopicFollower start() {
    thread.start();
    return this;
  }

  public CompletableFuture<Void> caughtUp() {
    return caughtUp;
  }

  public boolean alive() {
    return thread.isAlive();
  }

  private void run() {
    try {
      List<TopicPartition> parts = partitions();
      if (parts.isEmpty()) { // closed while waiting for it
        caughtUp.completeExceptionally(new IllegalStateException("closed before " + topic + " was known"));
        return;
      }
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(parts, Duration.ofMinutes(5)));
      while (running) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          try {
            handler.accept(r);
          } catch (RuntimeException e) {
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
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // closing
    } catch (Exception e) {
      if (running) LOG.error("following {} stopped: {}", topic, e.toString());
      caughtUp.completeExceptionally(e);
    } finally {
      // closed (or failed) before it caught up: whoever waits for that learns it now, not at their timeout
      caughtUp.completeExceptionally(new IllegalStateException("stopped following " + topic + " before it caught up"));
      KafkaClients.closeOnItsThread(consumer, Duration.ofSeconds(2), "following " + topic);
    }
  }

  /**
   * The topic's partitions. The client answers an empty list, at once, for a topic the broker does
   * not know (yet: a broker that just restarted may answer before its metadata has it, and the topics
   * followed are all created before). Following an empty assignment would read nothing for good and
   * look caught up, so it asks again, backing off to a second, until the topic is there.
   */
  private List<TopicPartition> partitions() throws InterruptedException {
    long backoffMs = 50;
    boolean warned = false;
    while (running) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer.partitionsFor(topic, Duration.ofMinutes(5)).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      if (!parts.isEmpty()) {
        if (warned) LOG.info("{} is known now: following its {} partitions", topic, parts.size());
        return parts;
      }
      if (!warned) LOG.warn("{} has no partitions in the broker's metadata yet; asking again until it has", topic);
      warned = true;
      Thread.sleep(backoffMs); // this follower's own thread: nothing else waits on it
      backoffMs = Math.min(1000, backoffMs * 2);
    }
    return List.of();
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
