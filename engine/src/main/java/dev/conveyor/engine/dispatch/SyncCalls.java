package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.attempt.AttemptPath;
import dev.conveyor.engine.attempt.Verdict;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.consume.Backoff;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.invoke.RetryAfter;
import dev.conveyor.engine.kafka.RecordSink;
import dev.conveyor.engine.metering.InvocationMode;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.status.StatusStore;
import dev.conveyor.engine.time.Time;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.opentelemetry.context.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The attempts of one sync call, while its caller waits: the same {@link AttemptPath} as async
 * (verdicts, Knative's answers, breaker, cold starts, usage with {@code mode: sync}), within the call's
 * own wait. The HTTP edge admits the call and turns the {@link Outcome} into an answer; it runs no
 * attempt itself.
 *
 * <p>The caller waits at most the function's {@code delivery.timeout} in all, or, when the revision is
 * at zero, as long as the Activator may hold the call (the revision's {@code timeoutSeconds} and a
 * margin). Within that wait, transport errors and {@code retryOnStatus} answers are retried (up to
 * {@code retry} times, the same backoff and {@code Retry-After} rule as async) and Knative's own answers
 * are waited out on the platform budget, as long as a useful attempt still fits; a timeout has spent the
 * wait and is not retried. The tenant's {@code maxConcurrency} and the function's limit hold for sync
 * calls too ({@link SyncSlots}).
 */
public final class SyncCalls {
  private static final Logger LOG = LoggerFactory.getLogger(SyncCalls.class);
  /** A retry is only worth it if this much of the budget is left after its backoff. */
  private static final long MIN_ATTEMPT_MS = 50;

  /** How a sync call ended, for the edge to answer. */
  public sealed interface Outcome {
    /** No slot came free (tenant's or function's) within the call's wait. */
    record NoSlot(boolean tenantFull, boolean tooLate) implements Outcome {}

    /** The function's breaker refused the first attempt. */
    record CircuitOpen() implements Outcome {}

    /** The last attempt's answer stands: the function's response, a timeout or unreachable. */
    record Answered(AttemptResult result, int attempts) implements Outcome {}

    /** Knative's own refusal outlasted the platform budget or the wait. */
    record PlatformRefused(Verdict.Platform platform, int attempts) implements Outcome {}

    /** The attempt path itself failed: nothing answered. */
    record Broken() implements Outcome {}

    /** The caller went away: nobody to answer. */
    record CallerLeft() implements Outcome {}
  }

  private final AttemptPath path;
  private final FunctionRegistry registry;
  private final UsageEmitter usage;
  private final Metrics metrics;
  private final Breakers breakers;
  private final Time time;
  private final Backoff backoff;
  private final SyncSlots slots;
  private final StatusStore store;
  private final RecordSink background;
  private final long runningStatusAfterMs;

  public SyncCalls(AttemptPath path, FunctionRegistry registry, UsageEmitter usage, Breakers breakers, Metrics metrics,
      Time time, SyncSlots slots, StatusStore store, RecordSink background, Duration runningStatusAfter) {
    this(path, registry, usage, breakers, metrics, time, slots, store, background, runningStatusAfter, Backoff.withJitter());
  }

  /** The same with {@code backoff}'s draws (a test's, to know the waits). */
  SyncCalls(AttemptPath path, FunctionRegistry registry, UsageEmitter usage, Breakers breakers, Metrics metrics,
      Time time, SyncSlots slots, StatusStore store, RecordSink background, Duration runningStatusAfter, Backoff backoff) {
    this.backoff = backoff;
    this.path = path;
    this.registry = registry;
    this.usage = usage;
    this.metrics = metrics;
    this.breakers = breakers;
    this.time = time;
    this.slots = slots;
    this.store = store;
    this.background = background;
    this.runningStatusAfterMs = runningStatusAfter.toMillis();
  }

  /** Whether the function's breaker is open now: the call is refused before it waits for a slot. */
  public boolean paused(FunctionTarget t) {
    return breakers.of(t).getState() == CircuitBreaker.State.OPEN;
  }

  /**
   * Runs the call: a slot, then attempts until one answers for good or the wait is spent. Completes on
   * the caller's Vert.x context once the call's final status is stored locally (written in the
   * background). {@code callerLeft} is asked before each wait.
   */
  public Future<Outcome> call(String tenant, FunctionTarget t, Context trace, Invocation inv, BooleanSupplier callerLeft) {
    CircuitBreaker cb = breakers.of(t);
    long now = time.millis();
    long deadline = now + AttemptPath.timeoutMs(t, t.scaledToZero(), t.delivery().timeout().toMillis());
    io.vertx.core.Context own = Vertx.currentContext();
    Promise<Outcome> done = Promise.promise();
    // A slot granted with less than a useful attempt left is no use: the wait stops that much earlier.
    slots.acquire(tenant, t.key(), t.memoryMiB(), Math.max(1, deadline - now - MIN_ATTEMPT_MS)).onComplete(slot -> onCaller(own, () -> {
      if (slot.failed()) {
        done.complete(new Outcome.NoSlot(slot.cause() instanceof SyncSlots.NoRoom n && n.tenantFull, false));
        return;
      }
      if (callerLeft.getAsBoolean()) {
        slots.release(slot.result()); // the caller left while it waited
        done.complete(new Outcome.CallerLeft());
        return;
      }
      if (deadline - time.millis() < MIN_ATTEMPT_MS) {
        slots.release(slot.result());
        done.complete(new Outcome.NoSlot(false, true));
        return;
      }
      if (!cb.tryAcquirePermission()) {
        slots.release(slot.result());
        done.complete(new Outcome.CircuitOpen());
        return;
      }
      attempt(new Progress(trace, inv, cb, deadline, slot.result(), callerLeft, done), t, 1);
    }));
    return done.future();
  }

  private static void onCaller(io.vertx.core.Context own, Runnable r) {
    if (own == null) r.run();
    else own.runOnContext(v -> r.run());
  }

  /**
   * Where one sync call stands between attempts: its slot in the ledger, its breaker, its deadline,
   * and its status as {@code GET /v1/invocations/{id}} shows it ({@code mode: sync}).
   */
  private static final class Progress {
    final Context trace;
    final Invocation inv;
    final CircuitBreaker cb;
    final long deadline;
    final SyncSlots.Permit permit;
    final BooleanSupplier callerLeft;
    final Promise<Outcome> done;
    int platformDelays;
    Instant coldSince;
    InvocationStatus status;
    boolean released;

    Progress(Context trace, Invocation inv, CircuitBreaker cb, long deadline, SyncSlots.Permit permit,
        BooleanSupplier callerLeft, Promise<Outcome> done) {
      this.trace = trace;
      this.inv = inv;
      this.cb = cb;
      this.deadline = deadline;
      this.permit = permit;
      this.callerLeft = callerLeft;
      this.done = done;
      this.status = InvocationStatus.sync(inv);
    }
  }

  /** Attempt {@code n}; permission from the breaker is already acquired. */
  private void attempt(Progress p, FunctionTarget t, int n) {
    Invocation inv = p.inv;
    Instant now = time.now();
    long remaining = Math.max(1, p.deadline - now.toEpochMilli());
    var call = new AttemptPath.Call(inv, t, n, InvocationMode.sync, "http", p.coldSince, 0, remaining);
    InvocationStatus running = p.status.running(n, now, call.cold());
    // Shown (and counted by other replicas) once it has run runningStatusAfter, as an async attempt is.
    Runnable shown = time.deadline(Math.max(1, runningStatusAfterMs), () -> show(running));
    path.run(p.trace, call, p.cb, Future::succeededFuture).onComplete(ar -> {
      shown.run();
      if (ar.failed()) { // nothing in the sync path fails the call; answer rather than hang
        end(p, running.failed(time.now(), null, "the call failed: " + ar.cause().getClass().getSimpleName()), new Outcome.Broken());
        return;
      }
      AttemptPath.Ended e = ar.result();
      long end = e.end().toEpochMilli();
      Integer http = e.result() instanceof AttemptResult.Response r ? r.status() : null;
      if (e.verdict() instanceof Verdict.Platform platform) {
        p.status = running.platformDelayed(e.end(), http, platform.reason(), platform.kind() != Verdict.Kind.OVERLOADED);
        long delay = backoff.delayMs(t.delivery(), p.platformDelays + 1, retryAfter(e.result()));
        boolean again = p.platformDelays < t.delivery().platformRetries() && end + delay + MIN_ATTEMPT_MS < p.deadline;
        if (!again) {
          end(p, p.status.failed(e.end(), http, platform.reason()), new Outcome.PlatformRefused(platform, n - 1));
          return;
        }
        if (p.coldSince == null && platform.kind() != Verdict.Kind.OVERLOADED) p.coldSince = e.start();
        p.platformDelays++;
        retry(p, t, n, delay, e);
        return;
      }
      meter(e.usage());
      Long coldMs = e.cold() ? e.coldMs() : null;
      p.coldSince = null;
      String error = e.verdict() instanceof Verdict.Failed f ? f.error() : null;
      long delay = retryDelay(t, e, n);
      if (delay >= 0 && end + delay + MIN_ATTEMPT_MS < p.deadline) {
        metrics.retry(inv.tenant(), inv.namespace(), inv.function());
        p.status = running.attemptEnded(InvocationState.retrying, e.end(), e.durationMs(), http, error, coldMs);
        retry(p, t, n + 1, delay, e);
        return;
      }
      InvocationStatus last = running.attemptEnded(InvocationState.retrying, e.end(), e.durationMs(), http, error, coldMs);
      end(p, e.verdict() instanceof Verdict.Succeeded
          ? running.attemptEnded(InvocationState.succeeded, e.end(), e.durationMs(), http, null, coldMs)
          : last.failed(e.end(), http, error), new Outcome.Answered(e.result(), n));
    });
  }

  /** A running status: stored and applied here as this process's own (it is counted in the ledger already). */
  private void show(InvocationStatus running) {
    store.apply(running, null, true, null);
    store.write(running, null, background).onFailure(err -> LOG.debug("running status of sync call {} not stored: {}", running.id(), err.toString()));
  }

  /** The call is over: its slot goes back, its final status is stored (nobody waits for that) and the edge answers. */
  private void end(Progress p, InvocationStatus terminal, Outcome outcome) {
    if (p.released) return;
    p.released = true;
    slots.release(p.permit);
    p.status = terminal;
    store.apply(terminal, null, true, null);
    store.write(terminal, null, background).onFailure(err -> LOG.warn("status of sync call {} not stored: {}", terminal.id(), err.toString()));
    p.done.complete(outcome);
  }

  /** Attempt {@code n} after {@code delay}, with the target resolved again (its revision may be ready now). */
  private void retry(Progress p, FunctionTarget t, int n, long delay, AttemptPath.Ended last) {
    if (callerLeft(p)) return; // no point in another attempt
    time.setTimer(Math.max(1, delay), () -> {
      if (callerLeft(p)) return;
      if (!p.cb.tryAcquirePermission()) { // the breaker opened meanwhile: the last answer stands
        end(p, p.status.failed(time.now(), p.status.httpStatus(), "the circuit breaker opened"), new Outcome.Answered(last.result(), n - 1));
        return;
      }
      attempt(p, registry.find(p.inv.namespace(), p.inv.function()).orElse(t), n);
    });
  }

  private boolean callerLeft(Progress p) {
    if (!p.callerLeft.getAsBoolean()) return false;
    end(p, p.status.end(InvocationState.cancelled, time.now(), "the caller left before the call ended"), new Outcome.CallerLeft());
    return true;
  }

  private long retryAfter(AttemptResult res) {
    return res instanceof AttemptResult.Response r ? RetryAfter.millis(r.retryAfter(), time.millis()) : -1;
  }

  /** The backoff before the next attempt, or -1 when this result is final. */
  private long retryDelay(FunctionTarget t, AttemptPath.Ended e, int n) {
    if (n >= t.delivery().retry() + 1) return -1;
    if (!(e.verdict() instanceof Verdict.Failed f) || !f.retryable()) return -1;
    if (e.result() instanceof AttemptResult.Timeout) return -1; // it spent the wait
    return backoff.delayMs(t.delivery(), n, retryAfter(e.result()));
  }

  /** The usage record goes out in the background, retried until Kafka takes it (bounded); the caller does not wait. */
  private void meter(UsageEmitter.Attempt attempt) {
    emit(attempt, 20).onSuccess(v -> metrics.usageRecord(attempt.invocation().tenant()))
        .onFailure(err -> LOG.error("usage record of sync invocation {} attempt {} not stored: {}", attempt.invocation().id(),
            attempt.attempt(), err.toString()));
  }

  private Future<Void> emit(UsageEmitter.Attempt a, int triesLeft) {
    return usage.emit(a).recover(err -> {
      if (triesLeft <= 1) return Future.failedFuture(err);
      Promise<Void> later = Promise.promise();
      time.setTimer(500, () -> emit(a, triesLeft - 1).onComplete(later));
      return later.future();
    });
  }
}
