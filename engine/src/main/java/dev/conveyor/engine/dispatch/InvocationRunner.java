package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.consume.Backoff;
import dev.conveyor.engine.consume.Waits;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import dev.conveyor.engine.config.ConveyorConfig.QueueHeaders;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.attempt.AttemptPath;
import dev.conveyor.engine.attempt.Verdict;
import dev.conveyor.engine.metering.InvocationMode;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.status.StatusStore;
import dev.conveyor.engine.observability.Logs;
import dev.conveyor.engine.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.vertx.core.Future;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.callback.Destinations;
import dev.conveyor.engine.callback.OutboundPost;
import dev.conveyor.engine.invoke.RetryAfter;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.kafka.RecordSink;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import dev.conveyor.engine.kafka.Topics;
import dev.conveyor.engine.queue.InvocationCodec;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers one invocation until it reaches a terminal status: attempt, usage record, status, and
 * retries after a backoff. Every step that must be stored is retried until Kafka takes it, so the
 * future completes only once the outcome is durable; then the dispatcher may commit the offset.
 *
 * <p>The attempt number comes from the stored status. An attempt cut short by a crash runs again
 * under the same number (whether or not its {@code running} status was stored), so an attempt has
 * one usage id however often a crash repeats it.
 */
public final class InvocationRunner {
  private static final Logger LOG = LoggerFactory.getLogger(InvocationRunner.class);

  private final Time clock;
  private final StatusStore store;
  private final FunctionRegistry registry;
  private final AttemptPath path;
  private final UsageEmitter usage;
  private final DeadLetters deadLetters;
  private final String defaultDeadLetterTopic;
  private final Metrics metrics;
  private final Breakers breakers;
  private final RecordSink sender;
  private final Topics topics;
  private final Backoff backoff;
  private final Waits waits;
  private final Tracing tracing;
  private final long runningStatusAfterMs;
  private final QueueHeaders queueHeaders;

  private InvocationRunner(Builder b) {
    this.clock = java.util.Objects.requireNonNull(b.time, "time");
    this.store = java.util.Objects.requireNonNull(b.store, "store");
    this.registry = java.util.Objects.requireNonNull(b.functions, "functions");
    this.path = java.util.Objects.requireNonNull(b.attempts, "attempts");
    this.usage = java.util.Objects.requireNonNull(b.usage, "usage");
    this.sender = java.util.Objects.requireNonNull(b.sink, "sink");
    this.topics = java.util.Objects.requireNonNull(b.topics, "topics");
    this.breakers = java.util.Objects.requireNonNull(b.breakers, "breakers");
    this.metrics = java.util.Objects.requireNonNull(b.metrics, "metrics");
    this.tracing = b.tracing;
    this.backoff = b.backoff;
    this.runningStatusAfterMs = b.runningStatusAfter.toMillis();
    this.queueHeaders = b.queueHeaders;
    this.deadLetters = new DeadLetters(sender);
    this.defaultDeadLetterTopic = topics.deadletter();
    this.waits = new Waits(clock, LOG);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** What a runner is made of: every part is required but the tracing, the backoff's jitter and {@code runningStatusAfter}. */
  public static final class Builder {
    private Time time;
    private StatusStore store;
    private RecordSink sink;
    private Topics topics;
    private FunctionRegistry functions;
    private AttemptPath attempts;
    private Breakers breakers;
    private UsageEmitter usage;
    private Metrics metrics;
    private Tracing tracing = Tracing.off();
    private Backoff backoff = Backoff.withJitter();
    private Duration runningStatusAfter = Duration.ZERO;

    private QueueHeaders queueHeaders =
        QueueHeaders.perField;

    private Builder() {}

    /** The clock and the timers of backoff waits and of the running status. */
    public Builder time(Time time) {
      this.time = time;
      return this;
    }

    /** Where statuses are read and written. */
    public Builder store(StatusStore store) {
      this.store = store;
      return this;
    }

    /** Where parked retries, dead letters and what an ending owes (callbacks, destinations) are stored. */
    public Builder sink(RecordSink sink, Topics topics) {
      this.sink = sink;
      this.topics = topics;
      return this;
    }

    public Builder functions(FunctionRegistry functions) {
      this.functions = functions;
      return this;
    }

    /** How one attempt is made (the call, its verdict, its usage record). */
    public Builder attempts(AttemptPath attempts) {
      this.attempts = attempts;
      return this;
    }

    public Builder breakers(Breakers breakers) {
      this.breakers = breakers;
      return this;
    }

    public Builder usage(UsageEmitter usage) {
      this.usage = usage;
      return this;
    }

    public Builder observability(Metrics metrics, Tracing tracing) {
      this.metrics = metrics;
      this.tracing = tracing;
      return this;
    }

    /** The waits between attempts (with full jitter by default). */
    public Builder backoff(Backoff backoff) {
      this.backoff = backoff;
      return this;
    }

    /** The form of the retry records it parks ({@code kafka.queueHeaders}; a header per field by default). */
    public Builder queueHeaders(QueueHeaders queueHeaders) {
      this.queueHeaders = queueHeaders;
      return this;
    }

    /** How long a call runs before its running status is stored (0: before the call). */
    public Builder runningStatusAfter(Duration runningStatusAfter) {
      this.runningStatusAfter = runningStatusAfter;
      return this;
    }

    public InvocationRunner build() {
      return new InvocationRunner(this);
    }
  }

  /**
   * The process is going down: stop retrying stores and abandon backoff waits. What is unfinished
   * keeps its offset uncommitted, so Kafka redelivers it to whichever replica runs next.
   */
  public void stop() {
    waits.stop();
  }

  /**
   * Settles a fenced id as never stored: its {@code voided} status, applied here at once (a copy read
   * later is dropped) and stored until Kafka takes it (then every replica, and this one after a
   * restart, drops it too).
   */
  public Future<Void> voided(String id, String tenant) {
    Instant now = clock.now();
    long at = dev.conveyor.engine.api.InvocationIds.millis(id).orElse(now.toEpochMilli());
    InvocationStatus v = InvocationStatus.voided(id, tenant, Instant.ofEpochMilli(at), now);
    store.apply(v, null);
    return waits.durably(() -> store.write(v, null)).mapEmpty();
  }

  /**
   * @param expectedAttempt the attempt a retry record is for, or 0 for the record the client's 202 stored
   * @param dueAt when a retry is due (epoch ms), or 0
   */
  public Future<Void> run(Invocation inv, int expectedAttempt, long dueAt) {
    // The consumer span: a child of the producer span whose context the record carries, and linked to it.
    Context producer = Tracing.fromTraceparent(inv.traceparent());
    Span process = tracing.tracer().spanBuilder("process " + topics.invocations()).setSpanKind(SpanKind.CONSUMER)
        .setParent(producer).addLink(Span.fromContext(producer).getSpanContext())
        .setAttribute("messaging.system", "kafka").setAttribute("messaging.destination.name", topics.invocations())
        .setAttribute("messaging.operation.type", "process").setAttribute("faas.invocation_id", inv.id())
        .setAttribute("tenant", inv.tenant()).startSpan();
    return run(producer.with(process), inv, expectedAttempt, dueAt).onComplete(ar -> process.end());
  }

  private Future<Void> run(Context trace, Invocation inv, int expectedAttempt, long dueAt) {
    Optional<StatusStore.Entry> known = store.get(inv.id());
    InvocationStatus cur = known.map(StatusStore.Entry::status).orElseGet(() -> InvocationStatus.queued(inv));
    if (cur.status().terminal()) return Future.succeededFuture();
    // Redelivered while the status says an attempt runs: a crash cut that attempt short (or, during a
    // rebalance, the previous owner still runs it). Its outcome was never stored, so it runs again
    // under the same number: one attempt, one usage record id, no retry spent on the crash.
    boolean interrupted = known.isPresent() && cur.status() == InvocationState.running;
    if (expectedAttempt > 0 && known.isPresent()) {
      boolean next = !interrupted && cur.attempts() + 1 == expectedAttempt;
      boolean again = interrupted && cur.attempts() == expectedAttempt;
      if (!next && !again) return Future.succeededFuture(); // a second copy of a retry that already ran
    }
    if (expectedAttempt == 0 && cur.parkedUntil() != null) {
      return Future.succeededFuture(); // redelivered after a crash: its retry is parked on a tier
    }
    int n = expectedAttempt > 0 ? expectedAttempt : interrupted ? Math.max(1, cur.attempts()) : cur.attempts() + 1;
    long wait = dueAt - clock.millis();
    if (wait <= 0) { // due now: cur was read a moment ago on this thread, as a second read would be
      try {
        return resolved(trace, inv, cur, n);
      } catch (RuntimeException e) {
        return Future.failedFuture(e); // a failed future, not a throw, as when the step was composed
      }
    }
    return later(wait).compose(v -> {
      InvocationStatus latest = current(inv);
      if (latest.status().terminal()) return Future.succeededFuture(); // cancelled meanwhile
      return resolved(trace, inv, latest, n);
    });
  }

  /** Attempt {@code n} with the function as configured now, or its dead letter if it is gone. */
  private Future<Void> resolved(Context trace, Invocation inv, InvocationStatus latest, int n) {
    Optional<FunctionTarget> target = registry.find(inv.namespace(), inv.function());
    if (target.isEmpty()) {
      return fail(trace, inv, latest, defaultDeadLetterTopic, null,
          "function " + inv.namespace() + "/" + inv.function() + " is no longer configured");
    }
    return attempt(trace, inv, target.get(), latest, n);
  }

  private InvocationStatus current(Invocation inv) {
    return store.get(inv.id()).map(StatusStore.Entry::status).orElseGet(() -> InvocationStatus.queued(inv));
  }

  private Future<Void> attempt(Context trace, Invocation inv, FunctionTarget t, InvocationStatus cur, int n) {
    Instant now = clock.now();
    Delivery d = t.delivery();
    String dlq = d.deadLetterTopic() == null ? defaultDeadLetterTopic : d.deadLetterTopic();
    if (d.tooOld(inv.acceptedAt(), now)) {
      return finish(trace, inv, cur.end(InvocationState.expired, now, "older than maxEventAge " + d.maxEventAge()), null);
    }
    if (n > inv.attemptLimit(d.retry())) {
      return fail(trace, inv, cur, dlq, cur.httpStatus(), cur.lastError() == null ? "attempts exhausted" : cur.lastError());
    }
    CircuitBreaker cb = breakers.of(t);
    if (!cb.tryAcquirePermission()) return waitForBreaker(trace, inv, t, cur, n, cb);
    // Cold: the revision has no ready replica now, or the platform already turned this invocation away
    // while it scaled from zero (the wait since then is the cold start).
    Instant coldSince = cur.coldSince();
    boolean cold = t.scaledToZero() || coldSince != null;
    InvocationStatus running = cur.running(n, now, cold);
    if (n == 1 && cur.platformDelays() == 0) {
      metrics.queueWait(inv.tenant(), inv.namespace(), inv.function(), running.queueWaitMs());
    }
    // The running status is stored before the call when the call is likely to take a while (a cold
    // start), else only once it has run runningStatusAfter: most calls end sooner, and their status goes
    // from queued to its outcome with one write instead of two. A crash during the call finds the
    // previous status and runs the attempt again under the same number either way.
    long showAfter = cold ? 0 : runningStatusAfterMs;
    Future<InvocationStatus> before = showAfter == 0
        ? durably(() -> store.write(running, null)).onFailure(err -> cb.releasePermission())
        : Future.succeededFuture(running);
    return before.compose(r -> {
      RunningShown shown = showAfter == 0 ? null : new RunningShown();
      if (shown != null) {
        shown.timer = clock.deadline(showAfter, () -> shown.written = durably(() -> store.write(running, null)));
      }
      long queueWait = running.queueWaitMs() == null ? 0 : running.queueWaitMs();
      var call = new AttemptPath.Call(inv, t, n, InvocationMode.async, inv.triggerOrHttp(), coldSince, queueWait,
          AttemptPath.timeoutMs(t, cold, d.timeout().toMillis()));
      return path.run(trace, call, cb, res -> {
        // The outcome's status must follow the running one: wait for it if it was started.
        if (shown == null) return Future.succeededFuture(res);
        shown.timer.run();
        return shown.written == null ? Future.succeededFuture(res) : shown.written.map(x -> res); // fails only while stopping
      }).compose(e -> {
        if (e.verdict() instanceof Verdict.Platform p) {
          InvocationStatus delayed = running.platformDelayed(e.end(), status(e.result()), p.reason(), p.kind() != Verdict.Kind.OVERLOADED);
          if (running.platformDelays() < d.platformRetries()) {
            long delay = backoff.delayMs(d, delayed.platformDelays(), RetryAfter.millis(((AttemptResult.Response) e.result()).retryAfter(), clock.millis()));
            return retryLater(trace, inv, t, delayed, n, delay, e.end());
          }
          // The platform's budget is spent: the revision never became ready (or never had room). Nothing
          // reached the function, so no retry was spent on it either.
          return fail(trace, inv, delayed, dlq, delayed.httpStatus(), p.reason() + "; gave up after " + delayed.platformDelays()
              + " such answers (platformRetries " + d.platformRetries() + ")");
        }
        return ended(trace, inv, t, running, n, e, dlq);
      });
    });
  }

  private static Integer status(AttemptResult res) {
    return res instanceof AttemptResult.Response r ? r.status() : null;
  }

  /** The running status of one call, stored by a timer if the call lasts {@code runningStatusAfter}. */
  private static final class RunningShown {
    Runnable timer;
    Future<InvocationStatus> written;
  }

  /** Stores {@code retrying} and runs attempt {@code next} after {@code delay}: in memory, or parked on a retry tier. */
  private Future<Void> retryLater(Context trace, Invocation inv, FunctionTarget t, InvocationStatus retrying, int next, long delay, Instant end) {
    if (delay >= topics.shortestTier().toMillis()) {
      // Park the next attempt on a retry tier: the queue's offset moves on, a restart keeps it.
      long due = end.toEpochMilli() + delay;
      var parked = InvocationCodec.retry(topics.tierFor(Duration.ofMillis(delay)).topic(), null, inv, next, due,
          clock.millis(), queueHeaders);
      return durably(() -> sender.send(parked))
          .compose(md -> durably(() -> store.write(retrying.parked(Instant.ofEpochMilli(due)), null)))
          .mapEmpty();
    }
    return durably(() -> store.write(retrying, null)).compose(s -> later(delay)).compose(x -> {
      if (current(inv).status().terminal()) return Future.succeededFuture(); // cancelled meanwhile
      // Resolved again: the revision, its readiness or the policy may have changed meanwhile.
      return attempt(trace, inv, registry.find(inv.namespace(), inv.function()).orElse(t), retrying, next);
    });
  }

  /**
   * The function's breaker is open: no call, no attempt spent, no usage. The invocation waits
   * {@code openFor} and asks again, parked on a retry tier when that is long enough to be worth it.
   */
  private Future<Void> waitForBreaker(Context trace, Invocation inv, FunctionTarget t, InvocationStatus cur, int n, CircuitBreaker cb) {
    // Half-open: the probes are out and will decide within moments; ask again soon, not after openFor.
    long wait = cb.getState() == CircuitBreaker.State.HALF_OPEN ? Math.min(1000, t.breaker().openFor().toMillis())
        : t.breaker().openFor().toMillis();
    if (wait >= topics.shortestTier().toMillis()) {
      long now = clock.millis();
      long due = now + wait;
      var parked = InvocationCodec.retry(topics.tierFor(Duration.ofMillis(wait)).topic(), null, inv, n, due, now, queueHeaders);
      return durably(() -> sender.send(parked))
          .compose(md -> durably(() -> store.write(cur.waiting(Instant.ofEpochMilli(due)), null)))
          .mapEmpty();
    }
    return later(wait).compose(v -> {
      InvocationStatus latest = current(inv);
      if (latest.status().terminal()) return Future.succeededFuture();
      return attempt(trace, inv, t, latest.version() > cur.version() ? latest : cur, n);
    });
  }

  private Future<Void> ended(Context trace, Invocation inv, FunctionTarget t, InvocationStatus running, int n,
      AttemptPath.Ended e, String dlq) {
    Instant end = e.end();
    long ms = e.durationMs();
    Integer http = status(e.result());
    StoredResult result = e.result() instanceof AttemptResult.Response r ? new StoredResult(r.status(), r.contentType(), r.body().getBytes()) : null;
    long retryAfterMs = e.result() instanceof AttemptResult.Response r ? RetryAfter.millis(r.retryAfter(), clock.millis()) : -1;
    Long coldMs = e.cold() ? e.coldMs() : null;
    return durably(() -> usage.emit(e.usage())).compose(v -> {
      metrics.usageRecord(inv.tenant());
      if (e.verdict() instanceof Verdict.Succeeded) {
        return finish(trace, inv, running.attemptEnded(InvocationState.succeeded, end, ms, http, null, coldMs), result);
      }
      Verdict.Failed f = (Verdict.Failed) e.verdict();
      if (f.retryable() && n < inv.attemptLimit(t.delivery().retry())) {
        metrics.retry(inv.tenant(), inv.namespace(), inv.function());
        InvocationStatus retrying = running.attemptEnded(InvocationState.retrying, end, ms, http, f.error(), coldMs);
        return retryLater(trace, inv, t, retrying, n + 1, backoff.delayMs(t.delivery(), n, retryAfterMs), end);
      }
      return fail(trace, inv, running.attemptEnded(InvocationState.retrying, end, ms, http, f.error(), coldMs), dlq, http, f.error(), result);
    });
  }

  private Future<Void> fail(Context trace, Invocation inv, InvocationStatus cur, String dlq, Integer http, String error) {
    return fail(trace, inv, cur, dlq, http, error, null);
  }

  private Future<Void> fail(Context trace, Invocation inv, InvocationStatus cur, String dlq, Integer http, String error, StoredResult result) {
    InvocationStatus failed = cur.failed(clock.now(), http, error);
    return durably(() -> deadLetters.write(dlq, inv, cur.attempts(), http, error))
        .compose(v -> {
          metrics.deadletter(inv.tenant(), inv.namespace(), inv.function());
          Logs.in(trace, inv, () -> LOG.info("invocation of {}/{} failed after {} attempts, dead-lettered to {}: {}",
              inv.namespace(), inv.function(), cur.attempts(), dlq, error));
          return finish(trace, inv, failed, result);
        });
  }

  private Future<Void> finish(Context trace, Invocation inv, InvocationStatus terminal, StoredResult result) {
    if (store.isTerminal(inv.id())) return Future.succeededFuture(); // cancelled meanwhile
    FunctionTarget target = registry.find(inv.namespace(), inv.function()).orElse(null);
    // What the ending owes others (a destination, a callback) is stored before the final status:
    // a crash may repeat it, never lose it.
    java.util.List<org.apache.kafka.clients.producer.ProducerRecord<String, byte[]>> owed = new java.util.ArrayList<>(2);
    if (target != null) Destinations.record(inv, target, terminal, result, topics.callbacks()).ifPresent(owed::add);
    if (inv.callbackUrl() != null) owed.add(OutboundPost.callback(inv, terminal, result).toRecord(topics.callbacks()));
    Future<Void> stored = Future.succeededFuture();
    for (var r : owed) stored = stored.compose(v -> durably(() -> sender.send(r)).mapEmpty());
    return stored.compose(v -> durably(() -> store.write(terminal, result).recover(err -> result != null && !KafkaSender.retriable(err)
        ? store.write(terminal.end(terminal.status(), terminal.finishedAt(), "the result was too large to keep"), null)
        : Future.failedFuture(err))).map(s -> {
      metrics.completed(inv.tenant(), inv.namespace(), inv.function(), terminal.status());
      if (LOG.isDebugEnabled()) {
        Logs.in(trace, inv, () -> LOG.debug("invocation of {}/{} {} after {} attempts", inv.namespace(), inv.function(),
            terminal.status(), terminal.attempts()));
      }
      return null;
    }));
  }

  private Future<Void> later(long ms) {
    return waits.later(ms);
  }

  private <T> Future<T> durably(Supplier<Future<T>> op) {
    return waits.durably(op);
  }
}
