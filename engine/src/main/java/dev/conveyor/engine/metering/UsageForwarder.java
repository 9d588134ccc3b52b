package dev.conveyor.engine.metering;

import dev.conveyor.engine.config.ConveyorConfig.Forward;
import dev.conveyor.engine.observability.Metrics;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards {@code conveyor.usage} to a billing system's HTTP ingest (OpenMeter-style
 * {@code POST /api/v1/events} with {@code application/cloudevents-batch+json}): the records are
 * already CloudEvents, so a batch is their JSON in an array, ids unchanged.
 *
 * <p>At least once, and never twice in a ledger that dedupes by {@code (source, id)}: a batch is
 * POSTed until it is taken (2xx) or answered as a duplicate (409: it was taken before, e.g. by a try
 * whose answer timed out), and only then are its offsets committed; a failure, a timeout or any
 * other answer is tried again with the same ids after an exponential backoff with jitter (up to
 * {@code backoffMax}), so nothing is skipped. A 400 that can never succeed is retried too (and
 * logged): usage must not be dropped silently.
 *
 * <p>Runs on a thread of its own with a plain Kafka consumer and the JDK HTTP client, because both
 * block; it serves no request. Lag (records not yet forwarded) is {@code conveyor_usage_forward_lag}.
 */
public final class UsageForwarder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(UsageForwarder.class);

  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final Forward forward;
  private final Metrics metrics;
  private final HttpClient http;
  private final AtomicLong lag = new AtomicLong();
  private final Thread thread;
  private volatile boolean running = true;
  /** Guards {@link #interruptible}: a stop interrupts this thread only while it posts or backs off. */
  private final Object interruptLock = new Object();
  private boolean interruptible;

  public UsageForwarder(Consumer<String, byte[]> consumer, String topic, Forward forward, Metrics metrics) {
    this.consumer = consumer;
    this.topic = topic;
    this.forward = forward;
    this.metrics = metrics;
    this.http = HttpClient.newBuilder().connectTimeout(forward.timeout()).build();
    metrics.gauge("conveyor.usage.forward.lag", lag);
    this.thread = new Thread(this::run, "conveyor-usage-forwarder");
    this.thread.setDaemon(true);
  }

  public UsageForwarder start() {
    thread.start();
    return this;
  }

  private void run() {
    try {
      consumer.subscribe(List.of(topic));
      while (running) {
        ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
        List<ConsumerRecord<String, byte[]>> batch = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : records) {
          batch.add(r);
          if (batch.size() == forward.batchSize()) {
            sendInterruptibly(batch);
            batch.clear();
          }
        }
        if (!batch.isEmpty()) sendInterruptibly(batch);
        measureLag();
      }
    } catch (WakeupException | InterruptedException e) {
      // closing
    } catch (RuntimeException e) {
      if (running) LOG.error("usage forwarder stopped: {}", e.toString());
    } finally {
      dev.conveyor.engine.kafka.KafkaClients.closeOnItsThread(consumer, Duration.ofSeconds(5), "usage forwarder");
    }
  }

  /**
   * {@link #send} where a stop may interrupt it (a backoff, a POST), and nowhere else: an interrupt
   * reaching a poll or the consumer's close would make Kafka's client throw instead of leaving the
   * group.
   */
  private void sendInterruptibly(List<ConsumerRecord<String, byte[]>> batch) throws InterruptedException {
    synchronized (interruptLock) {
      if (!running) throw new InterruptedException("stopping");
      interruptible = true;
    }
    try {
      send(batch);
    } finally {
      synchronized (interruptLock) {
        interruptible = false;
        Thread.interrupted(); // one that came after the send ended: this thread stops at its next check
      }
    }
  }

  /** POSTs the batch until it is taken, then commits its offsets. */
  private void send(List<ConsumerRecord<String, byte[]>> batch) throws InterruptedException {
    byte[] body = body(batch);
    long backoff = 250;
    for (int attempt = 1; running; attempt++) {
      String outcome;
      try {
        HttpRequest.Builder req = HttpRequest.newBuilder(forward.url()).timeout(forward.timeout())
            .header("content-type", "application/cloudevents-batch+json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (forward.token() != null) req.header("authorization", "Bearer " + forward.token());
        int status = http.send(req.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        outcome = status / 100 == 2 ? "taken" : status == 409 ? "duplicate" : "status_" + status;
      } catch (java.io.IOException e) {
        outcome = e instanceof java.net.http.HttpTimeoutException ? "timeout" : "unreachable";
      }
      boolean done = outcome.equals("taken") || outcome.equals("duplicate");
      metrics.usageForwarded(outcome, done ? batch.size() : 1);
      if (done) {
        commit(batch);
        return;
      }
      LOG.warn("usage forward of {} events: {} (try {}); again with the same ids", batch.size(), outcome, attempt);
      long wait = ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1);
      Thread.sleep(wait); // this thread's own backoff between tries; nothing else waits on it
      backoff = Math.min(forward.backoffMax().toMillis(), backoff * 2);
    }
    throw new InterruptedException("stopping");
  }

  private static byte[] body(List<ConsumerRecord<String, byte[]>> batch) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write('[');
    boolean first = true;
    for (ConsumerRecord<String, byte[]> r : batch) {
      if (r.value() == null) continue;
      if (!first) out.write(',');
      out.writeBytes(r.value());
      first = false;
    }
    out.write(']');
    return out.toByteArray();
  }

  private void commit(List<ConsumerRecord<String, byte[]>> batch) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : batch) {
      offsets.merge(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1),
          (a, b) -> a.offset() >= b.offset() ? a : b);
    }
    try {
      consumer.commitSync(offsets);
    } catch (org.apache.kafka.clients.consumer.CommitFailedException e) {
      // The partitions moved meanwhile: their new owner forwards these again, and the ledger's dedupe takes them once.
      LOG.warn("usage forward: commit after a rebalance failed; the new owner sends these again");
    }
  }

  private void measureLag() {
    Set<TopicPartition> parts = consumer.assignment();
    if (parts.isEmpty()) return;
    long total = 0;
    for (var e : consumer.endOffsets(parts).entrySet()) total += Math.max(0, e.getValue() - consumer.position(e.getKey()));
    lag.set(total);
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    consumer.wakeup(); // ends a poll
    synchronized (interruptLock) {
      if (interruptible) thread.interrupt(); // ends a backoff or a POST
    }
    thread.join(10_000);
  }
}
