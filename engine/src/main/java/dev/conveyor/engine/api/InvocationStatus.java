package dev.conveyor.engine.api;

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
 */
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
    String mode) {

  public static InvocationStatus queued(Invocation inv) {
    return new InvocationStatus(inv.id(), inv.tenant(), inv.namespace(), inv.function(),
        InvocationState.queued, 1, 0, inv.acceptedAt(), null, null, null, null, false, null, null,
        inv.traceId(), inv.idempotencyKey(), List.of(), null, 0, null, inv.trigger(), null);
  }

  /** A sync call's status: shown like an async invocation's, {@code mode: sync}; it is never queued. */
  public static InvocationStatus sync(Invocation inv) {
    return new InvocationStatus(inv.id(), inv.tenant(), inv.namespace(), inv.function(),
        InvocationState.queued, 1, 0, inv.acceptedAt(), null, null, null, null, false, null, null,
        inv.traceId(), inv.idempotencyKey(), List.of(), null, 0, null, inv.trigger(), "sync");
  }

  /**
   * An id a fence settled as never stored ({@link InvocationState#voided}): terminal, so no copy of it
   * runs once a replica has read this. Namespace and function are empty when the fencer did not know them.
   */
  public static InvocationStatus voided(String id, String tenant, Instant acceptedAt, Instant now) {
    return new InvocationStatus(id, tenant, "", "", InvocationState.voided, 1, 0, acceptedAt, null, now, null, null, false,
        null, "the write's outcome was unknown, and a fence settled it as never stored", null, null, List.of(), null, 0, null,
        null, null);
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
    return new InvocationStatus(id, tenant, namespace, function, InvocationState.running, version + 1, n,
        acceptedAt, startedAt == null ? now : startedAt, null, durationMs, wait, coldStart || cold, httpStatus, lastError,
        traceId, idempotencyKey, List.copyOf(h), null, platformDelays, coldSince, trigger, mode);
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
    return new InvocationStatus(id, tenant, namespace, function, next, version + 1, attempts, acceptedAt,
        startedAt, next.terminal() ? end : null, attemptMs, queueWaitMs, coldStart, http, error, traceId,
        idempotencyKey, List.copyOf(h), null, platformDelays, null, trigger, mode);
  }

  /** Ends without another attempt (cancelled, expired). */
  public InvocationStatus end(InvocationState terminal, Instant now, String error) {
    return new InvocationStatus(id, tenant, namespace, function, terminal, version + 1, attempts, acceptedAt,
        startedAt, now, durationMs, queueWaitMs, coldStart, httpStatus, error == null ? lastError : error, traceId,
        idempotencyKey, history, null, platformDelays, coldSince, trigger, mode);
  }

  /** Retries exhausted or not retryable: dead-lettered with the last answer. */
  public InvocationStatus failed(Instant now, Integer http, String error) {
    return new InvocationStatus(id, tenant, namespace, function, InvocationState.failed, version + 1, attempts,
        acceptedAt, startedAt, now, durationMs, queueWaitMs, coldStart, http, error, traceId, idempotencyKey, history,
        null, platformDelays, coldSince, trigger, mode);
  }

  /** No attempt now (the function's breaker is open): the next one is parked until {@code until}. */
  public InvocationStatus waiting(Instant until) {
    return new InvocationStatus(id, tenant, namespace, function, status, version + 1, attempts, acceptedAt, startedAt,
        finishedAt, durationMs, queueWaitMs, coldStart, httpStatus, lastError, traceId, idempotencyKey, history, until, platformDelays, coldSince, trigger, mode);
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
    return new InvocationStatus(id, tenant, namespace, function, InvocationState.retrying, version + 1, attempts - 1,
        acceptedAt, startedAt, null, durationMs, queueWaitMs, coldStart, http, error, traceId, idempotencyKey,
        List.copyOf(h), null, platformDelays + 1, coldSince != null || !scalingFromZero ? coldSince : attemptStart, trigger, mode);
  }

  /** The same change, with the next attempt parked on a retry tier until {@code until}. */
  public InvocationStatus parked(Instant until) {
    return new InvocationStatus(id, tenant, namespace, function, status, version, attempts, acceptedAt, startedAt,
        finishedAt, durationMs, queueWaitMs, coldStart, httpStatus, lastError, traceId, idempotencyKey, history, until, platformDelays, coldSince, trigger, mode);
  }
}
