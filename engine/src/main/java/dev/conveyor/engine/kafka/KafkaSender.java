package dev.conveyor.engine.kafka;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends records with one shared idempotent {@link KafkaProducer} and completes a Vert.x future on
 * the caller's context once the broker acknowledged ({@code acks=all}).
 *
 * <p>{@code KafkaProducer.send} blocks in two cases only: while the topic's metadata is missing,
 * and while the buffer ({@code buffer.memory}) is full. Neither may happen on an event loop. So a
 * record is appended on the caller's thread only when neither can: its topic's metadata is loaded
 * ({@link #warm}, or the last send to it succeeded; the producer keeps it, see {@link KafkaClients}),
 * at least half the buffer is free, and no record is waiting for the thread. (The producer's free
 * buffer is read under two locks, so it is read again only once appends on callers' threads since
 * it was last found half free may have taken an eighth of it, each counted as a new batch or its
 * own size if larger, and after any append by the thread: in between, about three eighths stay
 * free, less only the few appends of threads that raced to read it.)
 * Otherwise it goes to a thread of its own, which may block, and which drains every queued record
 * in one wake-up. The last condition keeps the order of sends: a record never overtakes one sent
 * before it. Handing every record to the thread cost the accept path a thread wake-up per request
 * (see benchmarks/). Acks are per record either way.
 *
 * <p>A failure is reported as it is only when it proves the record was not written: it failed before
 * the producer took it (on the caller's call, which is how {@code KafkaProducer} reports a missing
 * topic, an oversized record or a closed producer), or the broker refused the batch for good
 * ({@link #refused}). Any other failure of a record the producer took, a delivery timeout above all,
 * becomes an {@link OutcomeUnknownException}: the batch may have been appended, or may still be.
 */
public final class KafkaSender implements RecordSink, AutoCloseable {
  private record Pending(ProducerRecord<String, byte[]> record, Context context, Promise<RecordMetadata> promise) {}

  private static final Pending STOP = new Pending(null, null, null);
  private static final Logger LOG = LoggerFactory.getLogger(KafkaSender.class);

  private final Producer<String, byte[]> producer;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  /** Records handed to the thread and not yet to the producer. */
  private final AtomicInteger waiting = new AtomicInteger();
  /** Topics whose metadata the producer holds: a send to them does not wait for it. */
  private final Set<String> ready = ConcurrentHashMap.newKeySet();
  /** The producer's free buffer bytes and its size (null when it reports none, as a mock). */
  private final Metric bufferAvailable;
  private final Metric bufferTotal;
  /**
   * Bytes that may still be appended on callers' threads before the free buffer is read again
   * (negative: read it at the next send).
   */
  private final AtomicLong appendCredit = new AtomicLong(-1);
  private final int batchSize;
  private final Thread thread;
  private volatile boolean closed;

  /** With a producer of {@link KafkaClients}' default {@code batch.size}. */
  public KafkaSender(Producer<String, byte[]> producer) {
    this(producer, KafkaClients.BATCH_SIZE);
  }

  /** @param batchSize the producer's {@code batch.size} */
  public KafkaSender(Producer<String, byte[]> producer, int batchSize) {
    this.producer = producer;
    this.batchSize = Math.max(1, batchSize);
    this.bufferAvailable = producerMetric(producer, "buffer-available-bytes");
    this.bufferTotal = producerMetric(producer, "buffer-total-bytes");
    this.thread = new Thread(this::run, "conveyor-kafka-sender");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  private static Metric producerMetric(Producer<String, byte[]> producer, String name) {
    return producer.metrics().entrySet().stream()
        .filter(e -> e.getKey().name().equals(name) && e.getKey().group().equals("producer-metrics"))
        .map(java.util.Map.Entry::getValue).findFirst().orElse(null);
  }

  /**
   * Loads the metadata of every topic this sender will write, at start-up (it blocks): a send to a
   * topic whose metadata is missing blocks the sender thread, and with it every accept, until
   * {@code max.block.ms} when the broker is down. A topic whose metadata does not come within
   * {@code max.block.ms} (just created, on a busy broker) is left to the sender's thread, which
   * waits for it, as after a failed send: a slow broker does not fail the start.
   */
  public void warm(java.util.Collection<String> topics) {
    for (String t : topics) {
      try {
        producer.partitionsFor(t);
        ready.add(t);
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        LOG.info("no metadata for {} yet ({}): its first records go through the sender's thread", t, e.getMessage());
      }
    }
  }

  @Override
  public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record) {
    Context ctx = Vertx.currentContext();
    Promise<RecordMetadata> promise = Promise.promise();
    if (closed) {
      promise.fail(new IllegalStateException("the Kafka sender is closed"));
      return promise.future();
    }
    Pending p = new Pending(record, ctx, promise);
    if (waiting.get() == 0 && ready.contains(record.topic()) && bufferMostlyFree(record)) {
      append(p); // cannot block: see the class comment
    } else {
      waiting.incrementAndGet();
      queue.add(p);
    }
    return promise.future();
  }

  /** Records handed to the thread and not yet appended (0 when a send may go on its caller's thread). */
  int waiting() {
    return waiting.get();
  }

  /**
   * Whether {@code record} finds room in the producer's buffer at once: at least half of
   * {@code buffer.memory} was free when last read, and appends since took an eighth at most.
   */
  private boolean bufferMostlyFree(ProducerRecord<String, byte[]> record) {
    if (bufferAvailable == null || bufferTotal == null) return true;
    // an append takes a new batch from the buffer (batch.size, or the record's size if larger) or nothing
    long takes = Math.max(batchSize, size(record));
    if (appendCredit.addAndGet(-takes) >= 0) return true;
    double total = ((Number) bufferTotal.metricValue()).doubleValue();
    if (((Number) bufferAvailable.metricValue()).doubleValue() * 2 < total) return false;
    appendCredit.set((long) (total / 8) - takes);
    return true;
  }

  /**
   * At least the bytes a record takes in the producer's buffer: Kafka's batch and record overheads
   * (61 and 21 bytes) and length varints within 128, a key's or header name's character counted as
   * UTF-8's most.
   */
  private static long size(ProducerRecord<String, byte[]> record) {
    long n = 128 + (record.value() == null ? 0 : record.value().length) + (record.key() == null ? 0 : 3L * record.key().length());
    for (org.apache.kafka.common.header.Header h : record.headers()) {
      n += 3L * h.key().length() + (h.value() == null ? 0 : h.value().length) + 8;
    }
    return n;
  }

  private void append(Pending p) {
    Thread caller = Thread.currentThread();
    boolean[] inSend = {true};
    try {
      producer.send(p.record(), (md, err) -> {
        // Once a send to a topic failed for a reason that may pass (metadata or broker missing), its
        // records go through the thread until one is stored again. (Read before adding: adding a key
        // already there locks its bin, on every ack.)
        String topic = p.record().topic();
        if (err == null && !ready.contains(topic)) ready.add(topic);
        else if (err != null && (err instanceof org.apache.kafka.common.errors.RetriableException
            || err instanceof OutcomeUnknownException)) ready.remove(topic);
        // KafkaProducer reports a record it did not take through the callback, on the caller's
        // thread, before send returns; a record it took completes on its I/O thread (or later).
        boolean taken = Thread.currentThread() != caller || !inSend[0];
        complete(p, md, err == null ? null : taken ? outcome(err) : err);
      });
    } catch (RuntimeException e) {
      complete(p, null, e);
    } finally {
      inSend[0] = false;
    }
  }

  /**
   * Whether a failed write may succeed if tried again: Kafka calls its error retriable, whether or not
   * the outcome of the failed try is known.
   */
  public static boolean retriable(Throwable err) {
    Throwable e = err instanceof OutcomeUnknownException ? err.getCause() : err;
    return e instanceof org.apache.kafka.common.errors.RetriableException;
  }

  /** What the failure of a record the producer took says of it: refused for good, or unknown. */
  static Exception outcome(Exception err) {
    return refused(err) ? err : new OutcomeUnknownException(err);
  }

  /**
   * Failures a broker answers only for a batch it did not append, and that no retry of the batch can
   * change: the record or batch is too large or malformed, the topic does not exist or may not be
   * written. A timeout, a lost leader, {@code NotEnoughReplicasAfterAppend}, a disconnect: unknown.
   */
  static boolean refused(Throwable err) {
    return err instanceof org.apache.kafka.common.errors.RecordTooLargeException
        || err instanceof org.apache.kafka.common.errors.RecordBatchTooLargeException
        || err instanceof org.apache.kafka.common.errors.InvalidTopicException
        || err instanceof org.apache.kafka.common.InvalidRecordException
        || err instanceof org.apache.kafka.common.errors.AuthorizationException
        || err instanceof org.apache.kafka.common.errors.SerializationException;
  }

  private void run() {
    List<Pending> batch = new ArrayList<>(256);
    while (true) {
      try {
        batch.add(queue.take());
        queue.drainTo(batch, 4096);
        for (Pending p : batch) {
          if (p == STOP) return;
          append(p);
          // This thread's appends are not counted against the credit: the next append on a
          // caller's thread reads the free buffer again.
          appendCredit.set(-1);
          waiting.decrementAndGet(); // only now may a later record be appended on its caller's thread
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // Never let this thread die: every later send would wait forever.
        LOG.error("the Kafka sender thread caught {}", e.toString());
      } finally {
        batch.clear();
      }
    }
  }

  private static void complete(Pending p, RecordMetadata md, Exception err) {
    Runnable r = () -> {
      if (err == null) p.promise().tryComplete(md);
      else p.promise().tryFail(err);
    };
    if (p.context() == null) r.run();
    else dev.conveyor.engine.futures.Futures.completeOn(p.context(), r); // here if the caller's event loop is gone
  }

  /** Flushes what is queued (bounded by {@code timeoutMs}) and closes the producer. */
  @Override
  public void close() {
    closed = true;
    queue.add(STOP);
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(java.time.Duration.ofSeconds(5));
    Pending p;
    while ((p = queue.poll()) != null) {
      if (p != STOP) complete(p, null, new IllegalStateException("the Kafka sender is closed"));
    }
  }

}
