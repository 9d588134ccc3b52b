package dev.conveyor.engine.http;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.attempt.Verdict;
import dev.conveyor.engine.dispatch.SyncCalls;
import dev.conveyor.engine.dispatch.SyncCalls.Outcome;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Context;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Sync invoke, {@code POST /v1/namespaces/{ns}/functions/{fn}}: the same {@link Admission} as async,
 * then the call's attempts run by {@link SyncCalls} while the caller waits; the function's status,
 * content type and body relayed as they came, with {@code X-Conveyor-Attempts}.
 * {@code Prefer: respond-async} turns it into an async invoke (Knative's async component).
 *
 * <p>No answer in time is 504 {@code function_timeout}; unreachable is 502 {@code function_unreachable};
 * Knative's answer when the platform budget or the wait is spent is 503 {@code revision_not_ready} or
 * {@code revision_overloaded}; no slot within the wait is 429 {@code concurrency_limited}; an open
 * breaker is 503 {@code circuit_open}.
 */
public final class SyncHandler implements Handler<RoutingContext> {
  private final Admission admission;
  private final AcceptHandler async;
  private final SyncCalls calls;
  private final Metrics metrics;
  private final Tracing tracing;

  public SyncHandler(Admission admission, AcceptHandler async, SyncCalls calls, Metrics metrics, Tracing tracing) {
    this.admission = admission;
    this.async = async;
    this.calls = calls;
    this.metrics = metrics;
    this.tracing = tracing;
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
    if (calls.paused(t)) throw circuitOpen(t); // before waiting for a slot
    Context trace = ServerSpans.start(tracing, ctx, a.tenant());
    Invocation inv = admission.invocation(ctx, a, null, Tracing.traceparent(Span.fromContext(trace).getSpanContext()));
    calls.call(a.tenant(), t, trace, inv, () -> ctx.response().closed()).onSuccess(outcome -> {
      if (outcome instanceof Outcome.NoSlot n) {
        concurrencyLimited(ctx, a.tenant(), n.tooLate() ? "No slot came free in time for a useful attempt within the call's wait"
            : (n.tenantFull() ? "This tenant has maxConcurrency calls running" : "The function has as many calls running as it takes")
                + " and no slot came free within the call's wait");
      } else if (outcome instanceof Outcome.CircuitOpen) {
        FailureHandler.send(ctx, circuitOpen(t));
      } else if (outcome instanceof Outcome.Answered r) {
        respond(ctx, inv, r.result(), r.attempts());
      } else if (outcome instanceof Outcome.PlatformRefused r) {
        platformRefused(ctx, inv, r.platform(), r.attempts());
      } else if (outcome instanceof Outcome.Broken) {
        FailureHandler.send(ctx, new ApiError(502, "function_unreachable", "The function could not be reached; retry later."));
      } // CallerLeft: nobody to answer
    });
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

  private void platformRefused(RoutingContext ctx, Invocation inv, Verdict.Platform p, int attempts) {
    ctx.response().putHeader("x-conveyor-invocation-id", inv.id()).putHeader("x-conveyor-attempts", Integer.toString(attempts));
    boolean overloaded = p.kind() == Verdict.Kind.OVERLOADED;
    FailureHandler.send(ctx, new ApiError(503, overloaded ? "revision_overloaded" : "revision_not_ready",
        (overloaded ? "The function's Knative revision has no room for more calls now" : "The function's Knative revision has no ready pod")
            + " (" + p.reason() + "); retry after the Retry-After seconds, or use the async API, which waits for it.", 1L));
    metrics.completed(inv.tenant(), inv.namespace(), inv.function(), InvocationState.failed);
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
    metrics.completed(inv.tenant(), inv.namespace(), inv.function(), ok ? InvocationState.succeeded : InvocationState.failed);
  }
}
