package dev.conveyor.engine.http;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.queue.Enqueuer;
import dev.conveyor.engine.queue.QueueLookup;
import io.vertx.core.Future;
import dev.conveyor.engine.time.Time;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Settles, in the background, the accepts whose write Kafka could not confirm (answered 503
 * {@code store_outcome_unknown}), so that a lookup of the id soon answers for certain:
 * <ul>
 *   <li>a random id is fenced ({@link QueueLookup#find}): stored if a copy came before the fence,
 *       else never stored, for good;</li>
 *   <li>an id derived from an idempotency key is stored again until Kafka confirms it: every copy
 *       has the same id, and the dispatcher runs an id once, so the request runs exactly once
 *       whether the first write landed or not, and whether or not the client also sends it again.</li>
 * </ul>
 * Tried again after 1, 2, 4 ... 30 s while Kafka cannot answer, for about an hour. Bounded: at most
 * {@value #MAX_PENDING} at once and {@value #MAX_PENDING_BYTES} bytes of payloads held; beyond
 * that, an id is left to the lookup its client makes (which fences it too).
 */
final class UnknownOutcomes {
  private static final Logger LOG = LoggerFactory.getLogger(UnknownOutcomes.class);
  private static final int MAX_PENDING = 10_000;
  private static final long MAX_PENDING_BYTES = 64L * 1024 * 1024;
  private static final int MAX_TRIES = 150;

  private final Time time;
  private final QueueLookup queue;
  private final Enqueuer enqueuer;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicLong pendingBytes = new AtomicLong();

  UnknownOutcomes(Time time, QueueLookup queue, Enqueuer enqueuer) {
    this.time = time;
    this.queue = queue;
    this.enqueuer = enqueuer;
  }

  /** Settles {@code inv}, whose write had an unknown outcome. */
  void settle(Invocation inv) {
    boolean fence = InvocationIds.fenceable(inv.id());
    if (!fence && !InvocationIds.derived(inv.id())) return;
    long bytes = fence ? 0 : inv.payload().length;
    if (pending.incrementAndGet() > MAX_PENDING || pendingBytes.addAndGet(bytes) > MAX_PENDING_BYTES) {
      pending.decrementAndGet();
      pendingBytes.addAndGet(-bytes);
      return;
    }
    attempt(inv, fence, bytes, 0);
  }

  int pending() {
    return pending.get();
  }

  private void attempt(Invocation inv, boolean fence, long bytes, int tries) {
    Future<?> done = fence
        ? queue.find(inv.id(), inv.tenant()).map(r -> {
          if (r instanceof QueueLookup.Unknown) throw new IllegalStateException("out of the queue's reach");
          return r;
        })
        : enqueuer.enqueue(inv);
    done.onComplete(ar -> {
      if (ar.succeeded() || tries + 1 >= MAX_TRIES) {
        if (ar.failed()) LOG.warn("gave up settling invocation {} ({}); a lookup of its id settles it", inv.id(), ar.cause().toString());
        pending.decrementAndGet();
        pendingBytes.addAndGet(-bytes);
        return;
      }
      long delay = Math.min(30_000, 1000L << Math.min(tries, 5));
      time.setTimer(delay, () -> attempt(inv, fence, bytes, tries + 1));
    });
  }
}
