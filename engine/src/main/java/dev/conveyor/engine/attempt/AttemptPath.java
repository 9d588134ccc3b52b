package dev.conveyor.engine.attempt;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.invoke.Invoker;
import dev.conveyor.engine.limit.FunctionCapacity;
import dev.conveyor.engine.metering.AttemptOutcome;
import dev.conveyor.engine.metering.InvocationMode;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.metering.UsageEmitterAttemptBuilder;
import dev.conveyor.engine.observability.ColdStarts;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.observability.Tracing;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.function.Function;

/**
 * One attempt, the same for every mode (async, sync, connectors and redrives go through async):
 * the attempt's span, its timeout (a cold start may take the revision's {@code timeoutSeconds}),
 * the call, the verdict (Knative's answers told from the function's), the breaker's record, the
 * function's adaptive capacity, the cold start's span and metric, and the usage record to write.
 * What follows a verdict (retry, park, dead letter, answer the caller) is the mode's own.
 */
public final class AttemptPath {
  /** Beyond the revision's timeoutSeconds, so that the Activator's own 504 arrives before our timeout fires. */
  static final long COLD_MARGIN_MS = 5_000;

  private final FunctionRegistry registry;
  private final Invoker invoker;
  private final FunctionCapacity capacity;
  private final Metrics metrics;
  private final Tracing tracing;
  private final Time clock;

  public AttemptPath(FunctionRegistry registry, Invoker invoker, FunctionCapacity capacity, Metrics metrics, Tracing tracing,
      Time clock) {
    this.registry = registry;
    this.invoker = invoker;
    this.capacity = capacity;
    this.metrics = metrics;
    this.tracing = tracing;
    this.clock = clock;
  }

  /**
   * One attempt to make.
   *
   * @param coldSince when the platform first turned this invocation away while its revision scaled from
   *     zero (the cold start began then), or null
   * @param timeoutMs how long the call may take ({@link #timeoutMs} gives the rule for a cold start)
   */
  public record Call(Invocation invocation, FunctionTarget target, int attempt, InvocationMode mode, String trigger,
      Instant coldSince, long queueWaitMs, long timeoutMs) {
    public boolean cold() {
      return target.scaledToZero() || coldSince != null;
    }
  }

  /**
   * How the attempt ended. {@code usage} is the record to write (null when Knative answered: nothing ran);
   * {@code coldMs} the cold start's share of it.
   */
  public record Ended(Verdict verdict, AttemptResult result, Instant start, Instant end, boolean cold, long coldMs,
      UsageEmitter.Attempt usage) {
    public long durationMs() {
      return Math.max(0, end.toEpochMilli() - start.toEpochMilli());
    }
  }

  /**
   * The attempt's timeout: the user's, or for a cold start on Knative at least the revision's
   * {@code timeoutSeconds} and a margin, for that long the Activator holds the call until a pod is ready.
   */
  public static long timeoutMs(FunctionTarget t, boolean cold, long userTimeoutMs) {
    if (!cold || !t.serving().knative()) return userTimeoutMs;
    return Math.max(userTimeoutMs, t.serving().timeoutMs() + COLD_MARGIN_MS);
  }

  /**
   * Makes the call; the breaker's permission is already acquired and is recorded or released here.
   *
   * @param afterCall what must complete before the verdict is taken (the async path's running status);
   *     its failure releases the permission and fails the attempt
   */
  public Future<Ended> run(Context trace, Call c, CircuitBreaker cb, Function<AttemptResult, Future<AttemptResult>> afterCall) {
    Invocation inv = c.invocation();
    FunctionTarget t = c.target();
    boolean cold = c.cold();
    Instant start = clock.now(); // billed time starts at the call, not at our own writes
    long startNanos = clock.nanos();
    int before = capacity.started(t);
    Span span = span(trace, c, cold);
    Context attemptTrace = trace.with(span);
    return invoker.invoke(inv, t, c.attempt(), c.timeoutMs(), tracing.inject(attemptTrace))
        .compose(res -> {
          capacity.ended(t);
          endSpan(span, res);
          return afterCall.apply(res);
        })
        .onFailure(err -> cb.releasePermission())
        .map(res -> {
          try {
            return verdict(c, cb, attemptTrace, start, clock.nanos() - startNanos, startNanos, before, res);
          } catch (RuntimeException e) {
            cb.releasePermission(); // no verdict was recorded: the permission must not be lost
            throw e;
          }
        });
  }

  private Ended verdict(Call c, CircuitBreaker cb, Context attemptTrace, Instant start, long rttNanos, long startNanos,
      int inflightAtStart, AttemptResult res) {
    Invocation inv = c.invocation();
    FunctionTarget t = c.target();
    Instant end = clock.now();
    FunctionTarget now = registry.find(inv.namespace(), inv.function()).orElse(t);
    // Only a revision still without a ready pod now makes a plain 503/404 the platform's: a call the
    // Activator held until a pod was ready was answered by the function.
    var platform = KnativeAnswers.platform(res, now.scaledToZero());
    capacity.sample(t, startNanos, rttNanos, inflightAtStart, platform.filter(k -> k == Verdict.Kind.OVERLOADED).isPresent());
    if (platform.isPresent()) {
      cb.releasePermission(); // the function was never reached: no verdict on its health
      metrics.platformDelay(inv.tenant(), inv.namespace(), inv.function());
      int status = ((AttemptResult.Response) res).status();
      return new Ended(new Verdict.Platform(platform.get(), KnativeAnswers.describe(platform.get(), t.revision(), status)),
          res, start, end, c.cold(), 0, null);
    }
    long ms = Math.max(0, end.toEpochMilli() - start.toEpochMilli());
    Breakers.record(cb, res, ms);
    boolean cold = c.cold();
    long coldMs = 0;
    if (cold && res instanceof AttemptResult.Response) {
      Instant coldStart = c.coldSince() != null ? c.coldSince() : start;
      coldMs = ColdStarts.millis(res, start, now.serving().readySince()) + (start.toEpochMilli() - coldStart.toEpochMilli());
      ColdStarts.span(tracing.tracer(), attemptTrace, inv.function(), coldStart, coldMs);
      metrics.coldStart(inv.tenant(), inv.namespace(), inv.function(), t.revision(), coldMs);
    }
    Verdict verdict;
    Integer http = null;
    long responseBytes = 0;
    if (res instanceof AttemptResult.Response r) {
      http = r.status();
      responseBytes = r.bodyBytes();
      boolean ok = r.status() >= 200 && r.status() < 300;
      boolean cut = r.bodyBytes() > r.body().length();
      verdict = ok && cut && c.mode() == InvocationMode.sync
          ? new Verdict.Failed(AttemptOutcome.error, "function answered more than " + r.body().length() + " bytes", false) // not relayable
          : ok ? new Verdict.Succeeded()
          : new Verdict.Failed(AttemptOutcome.error, "function answered " + r.status(), t.delivery().retryOnStatus().contains(r.status()));
    } else if (res instanceof AttemptResult.Timeout to) {
      verdict = new Verdict.Failed(AttemptOutcome.timeout, "no answer within " + to.afterMs() + " ms", true);
    } else {
      verdict = new Verdict.Failed(AttemptOutcome.error, ((AttemptResult.TransportError) res).message(), true);
    }
    AttemptOutcome outcome = verdict instanceof Verdict.Failed f ? f.outcome() : AttemptOutcome.success;
    metrics.attempt(inv.tenant(), inv.namespace(), inv.function(), t.revision(), outcome.name());
    metrics.duration(inv.tenant(), inv.namespace(), inv.function(), t.revision(), ms);
    UsageEmitter.Attempt usage = UsageEmitterAttemptBuilder.builder().invocation(inv).attempt(c.attempt()).mode(c.mode())
        .trigger(c.trigger()).outcome(outcome).httpStatus(http).start(start).end(end).coldStart(cold).coldStartMs(coldMs)
        .queueWaitMs(c.queueWaitMs()).memoryMiB(t.memoryMiB()).requestBytes(inv.payload().length).responseBytes(responseBytes)
        .revision(t.revision()).build();
    return new Ended(verdict, res, start, end, cold, coldMs, usage);
  }

  /** The client span of one attempt: its context is what the function receives as traceparent. */
  private Span span(Context trace, Call c, boolean cold) {
    Invocation inv = c.invocation();
    var b = tracing.tracer().spanBuilder("invoke " + inv.function()).setSpanKind(SpanKind.CLIENT).setParent(trace)
        .setAttribute("faas.invoked_name", inv.function())
        .setAttribute("faas.invoked_provider", "knative")
        .setAttribute("faas.invocation_id", inv.id())
        .setAttribute("faas.coldstart", cold)
        .setAttribute("k8s.namespace.name", inv.namespace())
        .setAttribute("tenant", inv.tenant());
    if (c.target().revision() != null) b.setAttribute("kn.revision.name", c.target().revision());
    if (c.attempt() > 1) b.setAttribute("http.request.resend_count", (long) c.attempt() - 1);
    return b.startSpan();
  }

  private static void endSpan(Span span, AttemptResult res) {
    if (res instanceof AttemptResult.Response r) {
      span.setAttribute("http.response.status_code", (long) r.status());
      if (r.status() >= 500) span.setStatus(StatusCode.ERROR);
    } else {
      span.setStatus(StatusCode.ERROR, res instanceof AttemptResult.Timeout ? "timeout" : "transport error");
    }
    span.end();
  }
}
