package dev.conveyor.engine.api;

import io.soabase.recordbuilder.core.RecordBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code GET /v1/invocations/{id}} answers, and what the status topic stores. {@code version}
 * grows by one with every change, so replicas apply updates in order whatever path they came by.
 * The result body is kept beside it, not in it (see {@link StoredResult}). {@code parkedUntil} is set
 * while the next attempt waits on a retry tier topic (not in any dispatcher's memory).
 * {@code coldSince}: when the revision's scale from zero began for this invocation (its first
 * attempt the platform answered while no replica was ready); cleared once an attempt is answered.
 * {@code mode}: {@code sync} for a sync call (null: async).
 *
 * <p>Each change is a wither over the generated {@code InvocationStatusBuilder}: it names the fields it
 * changes and keeps the rest.
 */
@RecordBuilder
public record InvocationStatus(
    String id,
    String tenant,
    String namespace,
    String function,
    InvocationState status,
    long version,
    int attempts,
    Instant acceptedAt,
    Instant startedAt,
    Instant finishedAt,
    Long durationMs,
    Long queueWaitMs,
    boolean coldStart,
    Integer httpStatus,
    String lastError,
    String traceId,
    String idempotencyKey,
    List<AttemptRecord> history,
    Instant parkedUntil,
    int platformDelays,
    Instant coldSince,
    String trigger,
    String mode) implements InvocationStatusBuilder.With {

  public static InvocationStatus queued(Invocation inv) {
    return InvocationStatusBuilder.builder().id(inv.id()).tenant(inv.tenant()).namespace(inv.namespace()).function(inv.function())
        .status(InvocationState.queued).version(1).acceptedAt(inv.acceptedAt()).traceId(inv.traceId())
        .idempotencyKey(inv.idempotencyKey()).history(List.of()).trigger(inv.trigger()).build();
  }

  /** A sync call's status: shown like an async invocation's, {@code mode: sync}; it is never queued. */
  public static InvocationStatus sync(Invocation inv) {
    return queued(inv).withMode("sync");
  }

  /**
   * An id a fence settled as never stored ({@link InvocationState#voided}): terminal, so no copy of it
   * runs once a replica has read this. Namespace and function are empty when the fencer did not know them.
   */
  public static InvocationStatus voided(String id, String tenant, Instant acceptedAt, Instant now) {
    return InvocationStatusBuilder.builder().id(id).tenant(tenant).namespace("").function("").status(InvocationState.voided)
        .version(1).acceptedAt(acceptedAt).finishedAt(now)
        .lastError("the write's outcome was unknown, and a fence settled it as never stored").history(List.of()).build();
  }

  /** {@code async} or {@code sync}: how the caller asked (null in records of earlier versions: async). */
  public String modeOrAsync() {
    return mode == null ? "async" : mode;
  }

  /** Attempt {@code n} starts now. */
  public InvocationStatus running(int n, Instant now) {
    return running(n, now, false);
  }

  /** Attempt {@code n} starts now; {@code cold}: its revision had no ready replica (a cold start). */
  public InvocationStatus running(int n, Instant now, boolean cold) {
    Long wait = startedAt == null ? Math.max(0, now.toEpochMilli() - acceptedAt.toEpochMilli()) : queueWaitMs;
    List<AttemptRecord> h = new ArrayList<>(history);
    // The same attempt again (a crash cut it short): it replaces its unfinished record.
    if (!h.isEmpty() && h.get(h.size() - 1).attempt() == n && h.get(h.size() - 1).durationMs() == null) h.remove(h.size() - 1);
    h.add(new AttemptRecord(n, now, null, null, null, cold, null));
    return with(b -> b.status(InvocationState.running).version(version + 1).attempts(n)
        .startedAt(startedAt == null ? now : startedAt).finishedAt(null).queueWaitMs(wait).coldStart(coldStart || cold)
        .history(List.copyOf(h)).parkedUntil(null));
  }

  /** The attempt that is running ended; the invocation moves to {@code next}. */
  public InvocationStatus attemptEnded(InvocationState next, Instant end, long attemptMs, Integer http, String error) {
    return attemptEnded(next, end, attemptMs, http, error, null);
  }

  /** The same, for an attempt whose cold start lasted {@code coldStartMs} (null: it was warm). */
  public InvocationStatus attemptEnded(InvocationState next, Instant end, long attemptMs, Integer http, String error,
      Long coldStartMs) {
    List<AttemptRecord> h = new ArrayList<>(history);
    if (!h.isEmpty()) {
      AttemptRecord last = h.remove(h.size() - 1);
      h.add(new AttemptRecord(last.attempt(), last.startedAt(), attemptMs, http, error, last.coldStart(), coldStartMs));
    }
    return with(b -> b.status(next).version(version + 1).finishedAt(next.terminal() ? end : null).durationMs(attemptMs)
        .httpStatus(http).lastError(error).history(List.copyOf(h)).parkedUntil(null).coldSince(null));
  }

  /** Ends without another attempt (cancelled, expired). */
  public InvocationStatus end(InvocationState terminal, Instant now, String error) {
    return with(b -> b.status(terminal).version(version + 1).finishedAt(now).lastError(error == null ? lastError : error)
        .parkedUntil(null));
  }

  /** Retries exhausted or not retryable: dead-lettered with the last answer. */
  public InvocationStatus failed(Instant now, Integer http, String error) {
    return with(b -> b.status(InvocationState.failed).version(version + 1).finishedAt(now).httpStatus(http).lastError(error)
        .parkedUntil(null));
  }

  /** No attempt now (the function's breaker is open): the next one is parked until {@code until}. */
  public InvocationStatus waiting(Instant until) {
    return with(b -> b.version(version + 1).parkedUntil(until));
  }

  /**
   * The attempt that is running was answered by the platform, not the function (Knative's Activator
   * or queue-proxy): it does not count, the next attempt keeps its number, and one more platform delay
   * is spent. {@code scalingFromZero}: the revision had no ready pod, so the cold start began with
   * this attempt (an overloaded warm revision is no cold start).
   */
  public InvocationStatus platformDelayed(Instant end, Integer http, String error, boolean scalingFromZero) {
    List<AttemptRecord> h = new ArrayList<>(history);
    Instant attemptStart = h.isEmpty() ? end : h.get(h.size() - 1).startedAt();
    if (!h.isEmpty()) h.remove(h.size() - 1);
    return with(b -> b.status(InvocationState.retrying).version(version + 1).attempts(attempts - 1).finishedAt(null)
        .httpStatus(http).lastError(error).history(List.copyOf(h)).parkedUntil(null).platformDelays(platformDelays + 1)
        .coldSince(coldSince != null || !scalingFromZero ? coldSince : attemptStart));
  }

  /** The same change, with the next attempt parked on a retry tier until {@code until}. */
  public InvocationStatus parked(Instant until) {
    return withParkedUntil(until);
  }
}
