package dev.conveyor.engine.deadletter;

import dev.conveyor.engine.kafka.KafkaClients;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/** Reads one record at a known position (a redrive's payload), on a thread of its own. */
public final class RecordFetcher implements AutoCloseable {
  private final KafkaConsumer<String, byte[]> consumer;
  private final ThreadPoolExecutor thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
      new ArrayBlockingQueue<>(64), r -> {
        Thread t = new Thread(r, "conveyor-record-fetcher");
        t.setDaemon(true);
        return t;
      });

  public RecordFetcher(KafkaClients clients) {
    this.consumer = clients.consumer("conveyor-record-fetcher", null);
  }

  /** Completes on the caller's context; fails when the record is gone or cannot be read now. */
  public Future<ConsumerRecord<String, byte[]>> fetch(String topic, int partition, long offset) {
    Context ctx = Vertx.currentContext();
    Promise<ConsumerRecord<String, byte[]>> promise = Promise.promise();
    try {
      thread.execute(() -> {
        ConsumerRecord<String, byte[]> found = null;
        try {
          TopicPartition tp = new TopicPartition(topic, partition);
          consumer.assign(List.of(tp));
          consumer.seek(tp, offset);
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
          while (found == null && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
              if (r.offset() == offset) found = r;
            }
          }
        } catch (RuntimeException e) {
          found = null;
        }
        ConsumerRecord<String, byte[]> r = found;
        Runnable done = () -> {
          if (r == null) promise.fail("record " + topic + "-" + partition + "@" + offset + " could not be read");
          else promise.complete(r);
        };
        if (ctx == null) done.run();
        else ctx.runOnContext(v -> done.run());
      });
    } catch (RejectedExecutionException e) {
      return Future.failedFuture("too many fetches at once");
    }
    return promise.future();
  }

  @Override
  public void close() {
    thread.getQueue().clear();
    try {
      thread.execute(() -> consumer.close(Duration.ofSeconds(2)));
    } catch (RejectedExecutionException e) {
      // already closed
    }
    thread.shutdown();
    try {
      thread.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
