package dev.conveyor.engine.kafka;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends records with one shared idempotent {@link KafkaProducer} and completes a Vert.x future on
 * the caller's context once the broker acknowledged ({@code acks=all}).
 *
 * <p>Why a thread of its own: {@code KafkaProducer.send} blocks while topic metadata is missing or
 * the buffer is full, so it must not run on an event loop. The Vert.x Kafka client hops to a
 * worker per record; this sender drains every queued record in one wake-up instead, which keeps
 * the accept path cheap under load (see benchmarks/). Acks are still per record.
 */
public final class KafkaSender implements AutoCloseable {
  private record Pending(ProducerRecord<String, byte[]> record, Context context, Promise<RecordMetadata> promise) {}

  private static final Pending STOP = new Pending(null, null, null);
  private static final Logger LOG = LoggerFactory.getLogger(KafkaSender.class);

  private final Producer<String, byte[]> producer;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private volatile boolean closed;

  public KafkaSender(Producer<String, byte[]> producer) {
    this.producer = producer;
    this.thread = new Thread(this::run, "conveyor-kafka-sender");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /**
   * Loads the metadata of every topic this sender will write, at start-up (it blocks): a send to a
   * topic whose metadata is missing blocks the sender thread, and with it every accept, until
   * {@code max.block.ms} when the broker is down.
   */
  public void warm(java.util.Collection<String> topics) {
    for (String t : topics) producer.partitionsFor(t);
  }

  public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record) {
    Context ctx = Vertx.currentContext();
    Promise<RecordMetadata> promise = Promise.promise();
    if (closed) {
      promise.fail(new IllegalStateException("the Kafka sender is closed"));
      return promise.future();
    }
    queue.add(new Pending(record, ctx, promise));
    return promise.future();
  }

  private void run() {
    List<Pending> batch = new ArrayList<>(256);
    while (true) {
      try {
        batch.add(queue.take());
        queue.drainTo(batch, 4096);
        for (Pending p : batch) {
          if (p == STOP) return;
          try {
            producer.send(p.record(), (md, err) -> complete(p, md, err));
          } catch (RuntimeException e) {
            complete(p, null, e);
          }
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
    if (p.context() == null) {
      r.run();
      return;
    }
    try {
      p.context().runOnContext(v -> r.run());
    } catch (RuntimeException closed) {
      r.run(); // the caller's event loop is gone (shutting down): complete here
    }
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
