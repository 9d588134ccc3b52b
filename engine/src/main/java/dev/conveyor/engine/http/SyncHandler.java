package dev.conveyor.engine.http;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.dispatch.Backoff;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.invoke.Invoker;
import dev.conveyor.engine.invoke.RetryAfter;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.observability.Metrics;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import dev.conveyor.engine.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
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
 * Sync invoke, {@code POST /v1/namespaces/{ns}/functions/{fn}}: the same {@link Admission}, the
 * same {@link Invoker}, the function's status, content type and body relayed as they came, and a
 * usage record per attempt with {@code mode: sync}. {@code Prefer: respond-async} turns it into an
 * async invoke (Knative's async component).
 *
 * <p>The caller waits at most the function's {@code delivery.timeout} in all. Within it, transport
 * errors and {@code retryOnStatus} answers are retried (up to {@code retry} times, the same
 * backoff and {@code Retry-After} rule as async) as long as the wait and a useful attempt still fit;
 * a timeout has spent the budget and is not retried. What the caller gets is the last attempt's
 * answer, with {@code X-Conveyor-Attempts}. No answer in time is 504 {@code function_timeout};
 * unreachable is 502 {@code function_unreachable}.
 */
public final class SyncHandler implements Handler<RoutingContext> {
  private static final Logger LOG = LoggerFactory.getLogger(SyncHandler.class);
  /** A retry is only worth it if this much of the budget is left after its backoff. */
  private static final long MIN_ATTEMPT_MS = 50;

  private final Vertx vertx;
  private final Admission admission;
  private final AcceptHandler async;
  private final Invoker invoker;
  private final UsageEmitter usage;
  private final Metrics metrics;
  private final Breakers breakers;
  private final Supplier<Instant> clock;
  private final Backoff backoff = Backoff.withJitter();
  private final Tracing tracing;

  public SyncHandler(Vertx vertx, Admission admission, AcceptHandler async, Invoker invoker, UsageEmitter usage,
      Breakers breakers, Metrics metrics, Tracing tracing, Supplier<Instant> clock) {
    this.tracing = tracing;
    this.breakers = breakers;
    this.vertx = vertx;
    this.admission = admission;
    this.async = async;
    this.invoker = invoker;
    this.usage = usage;
    this.metrics = metrics;
    this.clock = clock;
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
    CircuitBreaker cb = breakers.of(a.target());
    if (!cb.tryAcquirePermission()) throw circuitOpen(a.target());
    Context trace = ServerSpans.start(tracing, ctx, a.tenant());
    Invocation inv = admission.invocation(ctx, a, null, Tracing.traceparent(Span.fromContext(trace).getSpanContext()));
    long deadline = clock.get().toEpochMilli() + a.target().delivery().timeout().toMillis();
    attempt(ctx, trace, a.target(), inv, cb, 1, deadline);
  }

  private static ApiError circuitOpen(FunctionTarget t) {
    return new ApiError(503, "circuit_open", "The function is failing and calls to it are paused; retry after the pause.",
        Math.max(1, t.breaker().openFor().toSeconds()));
  }

  /** Attempt {@code n}; permission from the breaker is already acquired. */
  private void attempt(RoutingContext ctx, Context trace, FunctionTarget t, Invocation inv, CircuitBreaker cb, int n, long deadline) {
    Instant start = clock.get();
    var b = tracing.tracer().spanBuilder("invoke " + inv.function()).setSpanKind(SpanKind.CLIENT).setParent(trace)
        .setAttribute("faas.invoked_name", inv.function()).setAttribute("faas.invoked_provider", "knative")
        .setAttribute("faas.invocation_id", inv.id()).setAttribute("faas.coldstart", false)
        .setAttribute("k8s.namespace.name", inv.namespace());
    if (n > 1) b.setAttribute("http.request.resend_count", (long) n - 1);
    Span span = b.startSpan();
    invoker.invoke(inv, t, n, Math.max(1, deadline - start.toEpochMilli()), tracing.inject(trace.with(span))).onComplete(ar -> {
      Instant end = clock.get();
      AttemptResult res = ar.result();
      if (res instanceof AttemptResult.Response r) span.setAttribute("http.response.status_code", (long) r.status());
      else span.setStatus(StatusCode.ERROR);
      span.end();
      long ms = Math.max(0, end.toEpochMilli() - start.toEpochMilli());
      Breakers.record(cb, res, ms);
      meter(inv, t, n, res, start, end);
      long delay = retryDelay(t, res, n);
      boolean fits = delay >= 0 && end.toEpochMilli() + delay + MIN_ATTEMPT_MS < deadline;
      if (fits && !ctx.response().closed()) {
        metrics.retry(inv.tenant(), inv.namespace(), inv.function());
        vertx.setTimer(Math.max(1, delay), id -> {
          if (ctx.response().closed()) return; // the caller left: no point in another attempt
          if (!cb.tryAcquirePermission()) {
            respond(ctx, inv, res, n); // the breaker opened meanwhile: the last answer stands
            return;
          }
          attempt(ctx, trace, t, inv, cb, n + 1, deadline);
        });
        return;
      }
      respond(ctx, inv, res, n);
    });
  }

  /** The backoff before the next attempt, or -1 when this result is final. */
  private long retryDelay(FunctionTarget t, AttemptResult res, int n) {
    if (n >= t.delivery().retry() + 1) return -1;
    if (res instanceof AttemptResult.TransportError) return backoff.delayMs(t.delivery(), n, -1);
    if (res instanceof AttemptResult.Response r && t.delivery().retryOnStatus().contains(r.status())) {
      return backoff.delayMs(t.delivery(), n, RetryAfter.millis(r.retryAfter()));
    }
    return -1; // success, another answer, or a timeout (it spent the budget)
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

  private void meter(Invocation inv, FunctionTarget t, int n, AttemptResult res, Instant start, Instant end) {
    String outcome;
    Integer status = null;
    long responseBytes = 0;
    if (res instanceof AttemptResult.Response r) {
      status = r.status();
      responseBytes = r.bodyBytes();
      outcome = r.status() >= 200 && r.status() < 300 && r.bodyBytes() <= r.body().length() ? "success" : "error";
    } else {
      outcome = res instanceof AttemptResult.Timeout ? "timeout" : "error";
    }
    long ms = Math.max(0, end.toEpochMilli() - start.toEpochMilli());
    metrics.attempt(inv.tenant(), inv.namespace(), inv.function(), t.revision(), outcome);
    metrics.duration(inv.tenant(), inv.namespace(), inv.function(), t.revision(), ms);
    UsageEmitter.Attempt attempt = new UsageEmitter.Attempt(inv, n, "sync", "http", outcome, status, start, end, false, 0, 0,
        t.memoryMiB(), inv.payload().length, responseBytes, t.revision());
    // The record is retried until Kafka takes it (bounded); the caller does not wait for it.
    emit(attempt, 20).onSuccess(v -> metrics.usageRecord(inv.tenant()))
        .onFailure(err -> LOG.error("usage record of sync invocation {} attempt {} not stored: {}", inv.id(), n, err.toString()));
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
