package dev.conveyor.engine.http;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.breaker.Breakers;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.invoke.Invoker;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.observability.Metrics;
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
 * Sync invoke, {@code POST /v1/namespaces/{ns}/functions/{fn}}: the same {@link Admission}, one
 * attempt through the same {@link Invoker}, the function's status, content type and body relayed
 * as they came, and a usage record with {@code mode: sync}. {@code Prefer: respond-async} turns it
 * into an async invoke (Knative's async component). A function that does not answer in time is
 * 504 {@code function_timeout}; one that cannot be reached is 502 {@code function_unreachable}.
 */
public final class SyncHandler implements Handler<RoutingContext> {
  private static final Logger LOG = LoggerFactory.getLogger(SyncHandler.class);

  private final Vertx vertx;
  private final Admission admission;
  private final AcceptHandler async;
  private final Invoker invoker;
  private final UsageEmitter usage;
  private final Metrics metrics;
  private final Breakers breakers;
  private final Supplier<Instant> clock;

  public SyncHandler(Vertx vertx, Admission admission, AcceptHandler async, Invoker invoker, UsageEmitter usage,
      Breakers breakers, Metrics metrics, Supplier<Instant> clock) {
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
    Admission.Admitted a = admission.admit(ctx, ns, fn);
    CircuitBreaker cb = breakers.of(a.target());
    if (!cb.tryAcquirePermission()) {
      throw new ApiError(503, "circuit_open", "The function is failing and calls to it are paused; retry after the pause.",
          Math.max(1, a.target().breaker().openFor().toSeconds()));
    }
    Invocation inv = admission.invocation(ctx, a, null);
    Instant start = clock.get();
    invoker.invoke(inv, a.target(), 1).onComplete(ar -> {
      Instant end = clock.get();
      AttemptResult res = ar.result();
      Breakers.record(cb, res, end.toEpochMilli() - start.toEpochMilli());
      String outcome;
      Integer status = null;
      long responseBytes = 0;
      var resp = ctx.response().putHeader("x-conveyor-invocation-id", inv.id());
      if (res instanceof AttemptResult.Response r && r.bodyBytes() > r.body().length()) {
        status = r.status();
        responseBytes = r.bodyBytes();
        outcome = "error";
        FailureHandler.send(ctx, new ApiError(502, "function_response_too_large",
            "The function answered more than " + r.body().length() + " bytes; use the async API and /result, or answer less."));
      } else if (res instanceof AttemptResult.Response r) {
        status = r.status();
        responseBytes = r.bodyBytes();
        outcome = r.status() >= 200 && r.status() < 300 ? "success" : "error";
        resp.setStatusCode(r.status());
        if (r.contentType() != null) resp.putHeader("content-type", r.contentType());
        if (r.retryAfter() != null) resp.putHeader("retry-after", r.retryAfter());
        resp.end(r.body());
      } else if (res instanceof AttemptResult.Timeout t) {
        outcome = "timeout";
        FailureHandler.send(ctx, new ApiError(504, "function_timeout",
            "The function did not answer within " + t.afterMs() + " ms; use the async API for long work."));
      } else {
        outcome = "error";
        FailureHandler.send(ctx, new ApiError(502, "function_unreachable", "The function could not be reached; retry later."));
      }
      long ms = Math.max(0, end.toEpochMilli() - start.toEpochMilli());
      metrics.attempt(inv.tenant(), inv.namespace(), inv.function(), outcome);
      metrics.duration(inv.tenant(), inv.namespace(), inv.function(), ms);
      metrics.completed(inv.tenant(), inv.namespace(), inv.function(), "success".equals(outcome) ? "succeeded" : "failed");
      UsageEmitter.Attempt attempt = new UsageEmitter.Attempt(inv, 1, "sync", "http", outcome, status, start, end, false, 0, 0,
          a.target().memoryMiB(), inv.payload().length, responseBytes, a.target().revision());
      // The caller has its answer; the record is retried until Kafka takes it (bounded).
      emit(attempt, 20).onSuccess(v -> metrics.usageRecord(inv.tenant()))
          .onFailure(err -> LOG.error("usage record of sync invocation {} not stored: {}", inv.id(), err.toString()));
    });
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
