package dev.conveyor.engine.consume;

import dev.conveyor.engine.time.Time;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import dev.conveyor.engine.kafka.KafkaSender;
import org.slf4j.Logger;

/**
 * The waiting a delivery loop does, stoppable as one: backoff timers, and stores retried until
 * Kafka takes them. {@link #stop()} fails every pending wait at once, so work still waiting keeps
 * its offset uncommitted and Kafka redelivers it to whichever replica runs next.
 */
public final class Waits {
  private static final long STORE_RETRY_MS = 500;

  private final Time time;
  private final Logger log;
  private final Set<Promise<Void>> waiting = ConcurrentHashMap.newKeySet();
  private volatile boolean stopping;

  public Waits(Time time, Logger log) {
    this.time = time;
    this.log = log;
  }

  public boolean stopping() {
    return stopping;
  }

  public void stop() {
    stopping = true;
    for (Promise<Void> p : waiting) p.tryFail("stopping");
    waiting.clear();
  }

  /** Completes after {@code ms} (at once when not positive); fails when stopping. */
  public Future<Void> later(long ms) {
    if (stopping) return Future.failedFuture("stopping");
    if (ms <= 0) return Future.succeededFuture();
    Promise<Void> p = Promise.promise();
    waiting.add(p);
    time.setTimer(ms, () -> {
      waiting.remove(p);
      p.tryComplete();
    });
    return p.future();
  }

  /** Retries a store until Kafka takes it; gives up only when stopping, or on errors no retry cures. */
  public <T> Future<T> durably(Supplier<Future<T>> op) {
    return op.get().recover(err -> {
      if (stopping) return Future.failedFuture(err);
      if (!KafkaSender.retriable(err)) {
        log.error("storing to Kafka failed for good: {}", err.toString());
        return Future.failedFuture(err);
      }
      log.warn("storing to Kafka failed ({}); retrying in {} ms", err.toString(), STORE_RETRY_MS);
      return later(STORE_RETRY_MS).compose(v -> durably(op));
    });
  }
}
