package dev.conveyor.engine.http;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.dispatch.SyncSlots;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.status.StatusStore;
import dev.conveyor.engine.attempt.AttemptPath;
import dev.conveyor.engine.attempt.Verdict;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.consume.Backoff;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.invoke.RetryAfter;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.observability.Tracing;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sync invoke, {@code POST /v1/namespaces/{ns}/functions/{fn}}: the same {@link Admission} and the
 * same {@link AttemptPath} as async (verdicts, Knative's answers, breaker, cold starts, usage with
 * {@code mode: sync}), the function's status, content type and body relayed as they came.
 * {@code Prefer: respond-async} turns it into an async invoke (Knative's async component).
 *
 * <p>The caller waits at most the function's {@code delivery.timeout} in all, or, when the revision is
 * at zero, as long as the Activator may hold the call (the revision's {@code timeoutSeconds} and a
 * margin). Within that wait, transport errors and {@code retryOnStatus} answers are retried (up to
 * {@code retry} times, the same backoff and {@code Retry-After} rule as async) and Knative's own answers
 * are waited out on the platform budget, as long as a useful attempt still fits; a timeout has spent the
 * wait and is not retried. What the caller gets is the last attempt's answer, with
 * {@code X-Conveyor-Attempts}. No answer in time is 504 {@code function_timeout}; unreachable is 502
 * {@code function_unreachable}; Knative's answer when the platform budget or the wait is spent is 503
 * {@code revision_not_ready} or {@code revision_overloaded}.
 */
public final class SyncHandler implements Handler<RoutingContext> {
  private static final Logger LOG = LoggerFactory.getLogger(SyncHandler.class);
  /** A retry is only worth it if this much of the budget is left after its backoff. */
  private static final long MIN_ATTEMPT_MS = 50;

  private final Vertx vertx;
  private final Admission admission;
  private final AcceptHandler async;
  private final AttemptPath path;
  private final FunctionRegistry registry;
  private final UsageEmitter usage;
  private final Metrics metrics;
  private final Breakers breakers;
  private final Time clock;
  private final Backoff backoff = Backoff.withJitter();
  private final Tracing tracing;
  private final SyncSlots slots;
  private final StatusStore store;
  private final KafkaSender background;
  private final long runningStatusAfterMs;

  public SyncHandler(Vertx vertx, Admission admission, AcceptHandler async, AttemptPath path, FunctionRegistry registry,
      UsageEmitter usage, Breakers breakers, Metrics metrics, Tracing tracing, Time clock, SyncSlots slots,
      StatusStore store, KafkaSender background, java.time.Duration runningStatusAfter) {
    this.background = background;
    this.slots = slots;
    this.store = store;
    this.runningStatusAfterMs = runningStatusAfter.toMillis();
    this.tracing = tracing;
    this.breakers = breakers;
    this.vertx = vertx;
    this.admission = admission;
    this.async = async;
    this.path = path;
    this.registry = registry;
    this.usage = usage;
    this.metrics = metrics;
    this.clock = clock;
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
    int platformDelays;
    Instant coldSince;
    InvocationStatus status;
    boolean released;

    Progress(Context trace, Invocation inv, CircuitBreaker cb, long deadline, SyncSlots.Permit permit) {
      this.trace = trace;
      this.inv = inv;
      this.cb = cb;
      this.deadline = deadline;
      this.permit = permit;
      this.status = InvocationStatus.sync(inv);
    }
  }

  @Override
  public void handle(RoutingContext ctx) {
    String ns = ctx.pathParam("ns");
    String fn = ctx.pathParam("fn");
    String prefer = ctx.request().getHeader("prefer");
    if (prefer != null && prefer.toLowerCase().contains("respond-async")) {
      async.accept(ctx, ns, fn);
      return;
    }
    Admission.Admitted a = admission.admit(ctx, ns, fn, false);
    FunctionTarget t = a.target();
    CircuitBreaker cb = breakers.of(t);
    if (cb.getState() == CircuitBreaker.State.OPEN) throw circuitOpen(t); // before waiting for a slot
    Context trace = ServerSpans.start(tracing, ctx, a.tenant());
    Invocation inv = admission.invocation(ctx, a, null, Tracing.traceparent(Span.fromContext(trace).getSpanContext()));
    long now = clock.millis();
    long deadline = now + AttemptPath.timeoutMs(t, t.scaledToZero(), t.delivery().timeout().toMillis());
    io.vertx.core.Context own = vertx.getOrCreateContext();
    // The tenant's maxConcurrency and the function's limit hold for sync calls too: wait for a slot
    // within the call's own wait, else 429.
    // A slot granted with less than a useful attempt left is no use: the wait stops that much earlier.
    slots.acquire(a.tenant(), t.key(), Math.max(1, deadline - now - MIN_ATTEMPT_MS)).onComplete(slot -> own.runOnContext(v -> {
      if (slot.failed()) {
        boolean tenant = slot.cause() instanceof SyncSlots.NoRoom n && n.tenantFull;
        concurrencyLimited(ctx, a.tenant(), (tenant ? "This tenant has maxConcurrency calls running"
            : "The function has as many calls running as it takes") + " and no slot came free within the call's wait");
        return;
      }
      if (ctx.response().closed()) {
        slots.release(slot.result()); // the caller left while it waited
        return;
      }
      if (deadline - clock.millis() < MIN_ATTEMPT_MS) {
        slots.release(slot.result());
        concurrencyLimited(ctx, a.tenant(), "No slot came free in time for a useful attempt within the call's wait");
        return;
      }
      if (!cb.tryAcquirePermission()) {
        slots.release(slot.result());
        FailureHandler.send(ctx, circuitOpen(t));
        return;
      }
      attempt(ctx, t, new Progress(trace, inv, cb, deadline, slot.result()), 1);
    }));
  }

  private void concurrencyLimited(RoutingContext ctx, String tenant, String why) {
    metrics.rejected(tenant, "concurrency");
    FailureHandler.send(ctx, new ApiError(429, "concurrency_limited",
        why + "; retry after the Retry-After seconds, or use the async API.", 1L));
  }

  private static ApiError circuitOpen(FunctionTarget t) {
    return new ApiError(503, "circuit_open", "The function is failing and calls to it are paused; retry after the pause.",
        Math.max(1, t.breaker().openFor().toSeconds()));
  }

  /** Attempt {@code n}; permission from the breaker is already acquired. */
  private void attempt(RoutingContext ctx, FunctionTarget t, Progress p, int n) {
    Invocation inv = p.inv;
    Instant now = clock.now();
    long remaining = Math.max(1, p.deadline - now.toEpochMilli());
    var call = new AttemptPath.Call(inv, t, n, "sync", "http", p.coldSince, 0, remaining);
    InvocationStatus running = p.status.running(n, now, call.cold());
    // Shown (and counted by other replicas) once it has run runningStatusAfter, as an async attempt is.
    long shown = vertx.setTimer(Math.max(1, runningStatusAfterMs), id -> show(running));
    path.run(p.trace, call, p.cb, Future::succeededFuture).onComplete(ar -> {
      vertx.cancelTimer(shown);
      if (ar.failed()) { // nothing in the sync path fails the call; answer rather than hang
        end(p, running.failed(clock.now(), null, "the call failed: " + ar.cause().getClass().getSimpleName()));
        FailureHandler.send(ctx, new ApiError(502, "function_unreachable", "The function could not be reached; retry later."));
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
          end(p, p.status.failed(e.end(), http, platform.reason()));
          platformRefused(ctx, inv, platform, n - 1);
          return;
        }
        if (p.coldSince == null && platform.kind() != Verdict.Kind.OVERLOADED) p.coldSince = e.start();
        p.platformDelays++;
        retry(ctx, t, p, n, delay, e);
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
        retry(ctx, t, p, n + 1, delay, e);
        return;
      }
      InvocationStatus last = running.attemptEnded(InvocationState.retrying, e.end(), e.durationMs(), http, error, coldMs);
      end(p, e.verdict() instanceof Verdict.Succeeded ? running.attemptEnded(InvocationState.succeeded, e.end(), e.durationMs(), http, null, coldMs)
          : last.failed(e.end(), http, error));
      respond(ctx, inv, e.result(), n);
    });
  }

  /** A running status: stored and applied here as this process's own (it is counted in the ledger already). */
  private void show(InvocationStatus running) {
    store.apply(running, null, true, null);
    store.write(running, null, background).onFailure(err -> LOG.debug("running status of sync call {} not stored: {}", running.id(), err.toString()));
  }

  /** The call is over: its slot goes back and its final status is stored (the caller does not wait for that). */
  private void end(Progress p, InvocationStatus terminal) {
    if (p.released) return;
    p.released = true;
    slots.release(p.permit);
    p.status = terminal;
    store.apply(terminal, null, true, null);
    store.write(terminal, null, background).onFailure(err -> LOG.warn("status of sync call {} not stored: {}", terminal.id(), err.toString()));
  }

  /** Attempt {@code n} after {@code delay}, with the target resolved again (its revision may be ready now). */
  private void retry(RoutingContext ctx, FunctionTarget t, Progress p, int n, long delay, AttemptPath.Ended last) {
    if (callerLeft(ctx, p)) return; // no point in another attempt
    vertx.setTimer(Math.max(1, delay), id -> {
      if (callerLeft(ctx, p)) return;
      if (!p.cb.tryAcquirePermission()) {
        end(p, p.status.failed(clock.now(), p.status.httpStatus(), "the circuit breaker opened"));
        respond(ctx, p.inv, last.result(), n - 1); // the breaker opened meanwhile: the last answer stands
        return;
      }
      attempt(ctx, registry.find(p.inv.namespace(), p.inv.function()).orElse(t), p, n);
    });
  }

  private boolean callerLeft(RoutingContext ctx, Progress p) {
    if (!ctx.response().closed()) return false;
    end(p, p.status.end(InvocationState.cancelled, clock.now(), "the caller left before the call ended"));
    return true;
  }

  private long retryAfter(AttemptResult res) {
    return res instanceof AttemptResult.Response r ? RetryAfter.millis(r.retryAfter(), clock.millis()) : -1;
  }

  /** The backoff before the next attempt, or -1 when this result is final. */
  private long retryDelay(FunctionTarget t, AttemptPath.Ended e, int n) {
    if (n >= t.delivery().retry() + 1) return -1;
    if (!(e.verdict() instanceof Verdict.Failed f) || !f.retryable()) return -1;
    if (e.result() instanceof AttemptResult.Timeout) return -1; // it spent the wait
    return backoff.delayMs(t.delivery(), n, retryAfter(e.result()));
  }

  private void platformRefused(RoutingContext ctx, Invocation inv, Verdict.Platform p, int attempts) {
    ctx.response().putHeader("x-conveyor-invocation-id", inv.id()).putHeader("x-conveyor-attempts", Integer.toString(attempts));
    boolean overloaded = p.kind() == Verdict.Kind.OVERLOADED;
    FailureHandler.send(ctx, new ApiError(503, overloaded ? "revision_overloaded" : "revision_not_ready",
        (overloaded ? "The function's Knative revision has no room for more calls now" : "The function's Knative revision has no ready pod")
            + " (" + p.reason() + "); retry after the Retry-After seconds, or use the async API, which waits for it.", 1L));
    metrics.completed(inv.tenant(), inv.namespace(), inv.function(), "failed");
  }

  private void respond(RoutingContext ctx, Invocation inv, AttemptResult res, int attempts) {
    var resp = ctx.response().putHeader("x-conveyor-invocation-id", inv.id())
        .putHeader("x-conveyor-attempts", Integer.toString(attempts));
    boolean ok = false;
    if (res instanceof AttemptResult.Response r && r.bodyBytes() > r.body().length()) {
      FailureHandler.send(ctx, new ApiError(502, "function_response_too_large",
          "The function answered more than " + r.body().length() + " bytes; use the async API and /result, or answer less."));
    } else if (res instanceof AttemptResult.Response r) {
      ok = r.status() >= 200 && r.status() < 300;
      resp.setStatusCode(r.status());
      if (r.contentType() != null) resp.putHeader("content-type", r.contentType());
      if (r.retryAfter() != null) resp.putHeader("retry-after", r.retryAfter());
      resp.end(r.body());
    } else if (res instanceof AttemptResult.Timeout to) {
      FailureHandler.send(ctx, new ApiError(504, "function_timeout",
          "The function did not answer within " + to.afterMs() + " ms; use the async API for long work."));
    } else {
      FailureHandler.send(ctx, new ApiError(502, "function_unreachable", "The function could not be reached; retry later."));
    }
    metrics.completed(inv.tenant(), inv.namespace(), inv.function(), ok ? "succeeded" : "failed");
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
      vertx.setTimer(500, id -> emit(a, triesLeft - 1).onComplete(later));
      return later.future();
    });
  }
}
