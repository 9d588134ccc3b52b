package dev.conveyor.engine.kafka;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * A KafkaConsumer confined to one thread of its own (it blocks and is not thread-safe), for
 * one-off reads such as seeks and fetches: each task runs there and completes on the caller's
 * Vert.x context. The queue is short and bounded: beyond it a task fails at once instead of waiting.
 */
public final class ConsumerThread implements AutoCloseable {
  private final KafkaConsumer<String, byte[]> consumer;
  private final ThreadPoolExecutor thread;

  public ConsumerThread(KafkaConsumer<String, byte[]> consumer, String name, int queue) {
    this.consumer = consumer;
    this.thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(queue), r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }

  /** Runs {@code task} with the consumer; a null result or an exception fails the future. */
  public <T> Future<T> run(Function<KafkaConsumer<String, byte[]>, T> task) {
    Context ctx = Vertx.currentContext();
    Promise<T> promise = Promise.promise();
    try {
      thread.execute(() -> {
        T result;
        Throwable error = null;
        try {
          result = task.apply(consumer);
        } catch (RuntimeException e) {
          result = null;
          error = e;
        }
        T r = result;
        Throwable err = error;
        Runnable done = () -> {
          if (r != null) promise.complete(r);
          else promise.fail(err != null ? err : new IllegalStateException("nothing read"));
        };
        if (ctx == null) done.run();
        else dev.conveyor.engine.futures.Futures.completeOn(ctx, done); // here if the caller's event loop stopped meanwhile
      });
    } catch (RejectedExecutionException e) {
      return Future.failedFuture(new IllegalStateException("too many reads at once"));
    }
    return promise.future();
  }

  /** Drops waiting tasks and closes the consumer on its own thread. */
  @Override
  public void close() {
    thread.getQueue().clear();
    try {
      thread.execute(() -> KafkaClients.closeOnItsThread(consumer, Duration.ofSeconds(2), "a lookup reader"));
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
