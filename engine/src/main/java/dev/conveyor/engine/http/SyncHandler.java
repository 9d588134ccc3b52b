package dev.conveyor.engine.http;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.attempt.AttemptPath;
import dev.conveyor.engine.attempt.Verdict;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.dispatch.Backoff;
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
import java.util.function.Supplier;
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
  private final Supplier<Instant> clock;
  private final Backoff backoff = Backoff.withJitter();
  private final Tracing tracing;

  public SyncHandler(Vertx vertx, Admission admission, AcceptHandler async, AttemptPath path, FunctionRegistry registry,
      UsageEmitter usage, Breakers breakers, Metrics metrics, Tracing tracing, Supplier<Instant> clock) {
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

  /** Where one sync call stands between attempts. */
  private record Progress(Context trace, Invocation inv, CircuitBreaker cb, long deadline, int platformDelays, Instant coldSince) {}

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
    CircuitBreaker cb = breakers.of(a.target());
    if (!cb.tryAcquirePermission()) throw circuitOpen(a.target());
    Context trace = ServerSpans.start(tracing, ctx, a.tenant());
    Invocation inv = admission.invocation(ctx, a, null, Tracing.traceparent(Span.fromContext(trace).getSpanContext()));
    FunctionTarget t = a.target();
    long deadline = clock.get().toEpochMilli() + AttemptPath.timeoutMs(t, t.scaledToZero(), t.delivery().timeout().toMillis());
    attempt(ctx, t, new Progress(trace, inv, cb, deadline, 0, null), 1);
  }

  private static ApiError circuitOpen(FunctionTarget t) {
    return new ApiError(503, "circuit_open", "The function is failing and calls to it are paused; retry after the pause.",
        Math.max(1, t.breaker().openFor().toSeconds()));
  }

  /** Attempt {@code n}; permission from the breaker is already acquired. */
  private void attempt(RoutingContext ctx, FunctionTarget t, Progress p, int n) {
    Invocation inv = p.inv();
    long remaining = Math.max(1, p.deadline() - clock.get().toEpochMilli());
    var call = new AttemptPath.Call(inv, t, n, "sync", "http", p.coldSince(), 0, remaining);
    path.run(p.trace(), call, p.cb(), Future::succeededFuture).onComplete(ar -> {
      if (ar.failed()) { // nothing in the sync path fails the call; answer rather than hang
        FailureHandler.send(ctx, new ApiError(502, "function_unreachable", "The function could not be reached; retry later."));
        return;
      }
      AttemptPath.Ended e = ar.result();
      long end = e.end().toEpochMilli();
      if (e.verdict() instanceof Verdict.Platform platform) {
        long delay = backoff.delayMs(t.delivery(), p.platformDelays() + 1, retryAfter(e.result()));
        boolean again = p.platformDelays() < t.delivery().platformRetries() && end + delay + MIN_ATTEMPT_MS < p.deadline();
        if (!again) {
          platformRefused(ctx, inv, platform, n - 1);
          return;
        }
        Instant coldSince = p.coldSince() != null || platform.kind() == Verdict.Kind.OVERLOADED ? p.coldSince() : e.start();
        retry(ctx, t, new Progress(p.trace(), inv, p.cb(), p.deadline(), p.platformDelays() + 1, coldSince), n, delay, e);
        return;
      }
      meter(e.usage());
      long delay = retryDelay(t, e, n);
      if (delay >= 0 && end + delay + MIN_ATTEMPT_MS < p.deadline()) {
        metrics.retry(inv.tenant(), inv.namespace(), inv.function());
        retry(ctx, t, new Progress(p.trace(), inv, p.cb(), p.deadline(), p.platformDelays(), null), n + 1, delay, e);
        return;
      }
      respond(ctx, inv, e.result(), n);
    });
  }

  /** Attempt {@code n} after {@code delay}, with the target resolved again (its revision may be ready now). */
  private void retry(RoutingContext ctx, FunctionTarget t, Progress p, int n, long delay, AttemptPath.Ended last) {
    if (ctx.response().closed()) return; // the caller left: no point in another attempt
    vertx.setTimer(Math.max(1, delay), id -> {
      if (ctx.response().closed()) return;
      if (!p.cb().tryAcquirePermission()) {
        respond(ctx, p.inv(), last.result(), n - 1); // the breaker opened meanwhile: the last answer stands
        return;
      }
      attempt(ctx, registry.find(p.inv().namespace(), p.inv().function()).orElse(t), p, n);
    });
  }

  private static long retryAfter(AttemptResult res) {
    return res instanceof AttemptResult.Response r ? RetryAfter.millis(r.retryAfter()) : -1;
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
