package dev.conveyor.engine.futures;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.KafkaFuture;

/**
 * The one bridge between the three kinds of future the gateway meets: Vert.x {@link Future} (the
 * event loops'), the JDK's {@link CompletionStage} (fabric8's informers, the topic followers) and
 * {@link KafkaFuture} (the Kafka admin client's); and the one blocking wait, for threads that may block
 * (start, stop, a worker), never an event loop.
 */
public final class Futures {
  private Futures() {}

  /** A Vert.x future of {@code stage}; its callbacks run on the thread that completes it. */
  public static <T> Future<T> vertx(CompletionStage<T> stage) {
    return Future.fromCompletionStage(stage);
  }

  /** A Vert.x future of a Kafka client's future. */
  public static <T> Future<T> vertx(KafkaFuture<T> f) {
    return Future.fromCompletionStage(f.toCompletionStage());
  }

  /** A JDK future of a Vert.x one. */
  public static <T> CompletableFuture<T> jdk(Future<T> f) {
    return f.toCompletionStage().toCompletableFuture();
  }

  /** A JDK future of a Kafka client's future. */
  public static <T> CompletableFuture<T> jdk(KafkaFuture<T> f) {
    return f.toCompletionStage().toCompletableFuture();
  }

  /**
   * Runs {@code completion} on {@code ctx}, from any thread (a Kafka client's, a reader's); when the
   * context's event loop has stopped (its Vert.x is closing), here instead. Only for completing a
   * caller's promise, which is safe on any thread: thrown on, the {@link RejectedExecutionException}
   * would end the calling thread's task as an uncaught exception and leave the promise pending.
   */
  public static void completeOn(io.vertx.core.Context ctx, Runnable completion) {
    try {
      ctx.runOnContext(v -> completion.run());
    } catch (RejectedExecutionException stopped) {
      try {
        completion.run();
      } catch (RuntimeException e) {
        // a listener of the promise failed on this thread (it may want the stopped event loop too)
        org.slf4j.LoggerFactory.getLogger(Futures.class).debug("a completion after its event loop stopped: {}", e.toString());
      }
    }
  }

  /** {@link #await(CompletionStage, Duration, String)} of a Vert.x future. */
  public static <T> T await(Future<T> f, Duration timeout, String what) {
    return await(jdk(f), timeout, what);
  }

  /** {@link #await(CompletionStage, Duration, String)} of a Kafka client's future. */
  public static <T> T await(KafkaFuture<T> f, Duration timeout, String what) {
    return await(jdk(f), timeout, what);
  }

  /**
   * Blocks until {@code stage} completes, at most {@code timeout}. Its failure, the timeout or an
   * interrupt (the flag kept) end it as an {@link IllegalStateException} whose message says {@code what}
   * was being done: "starting the dispatcher failed: ...", "... took longer than 60 s".
   */
  public static <T> T await(CompletionStage<T> stage, Duration timeout, String what) {
    try {
      return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(what + " failed: " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(what + " took longer than " + seconds(timeout));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while " + what);
    }
  }

  private static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }
}
