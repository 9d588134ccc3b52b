package dev.conveyor.engine.api;

import io.soabase.recordbuilder.core.RecordBuilder;
import java.time.Instant;
import java.util.Map;

/**
 * One accepted invocation as it travels on {@code conveyor.invocations}: who asked for what, and
 * the payload exactly as received. {@code passHeaders} are the caller's headers the function gets
 * (ce-*, traceparent, tracestate); nothing else from the caller is forwarded. {@code callbackUrl}
 * is the caller's {@code X-Callback-Url}, already checked against the tenant's allow-list. Built with the
 * generated {@code InvocationBuilder}, which names every field it sets.
 */
@RecordBuilder
public record Invocation(
    String id,
    String tenant,
    String namespace,
    String function,
    String contentType,
    byte[] payload,
    String query,
    Map<String, String> passHeaders,
    Instant acceptedAt,
    String idempotencyKey,
    String traceparent,
    String callbackUrl,
    String trigger,
    Integer maxAttempts) {

  /** Without a cap on attempts (the function's retry policy decides): what HTTP callers get. */
  public Invocation(String id, String tenant, String namespace, String function, String contentType, byte[] payload,
      String query, Map<String, String> passHeaders, Instant acceptedAt, String idempotencyKey, String traceparent,
      String callbackUrl, String trigger) {
    this(id, tenant, namespace, function, contentType, payload, query, passHeaders, acceptedAt, idempotencyKey, traceparent,
        callbackUrl, trigger, null);
  }

  /** The attempts this invocation may use: the policy's {@code retry + 1}, lowered by its own cap if it has one. */
  public int attemptLimit(int policyRetry) {
    int policy = policyRetry + 1;
    return maxAttempts == null ? policy : Math.max(1, Math.min(policy, maxAttempts));
  }

  /** What turned this into an invocation: {@code http} (the API), {@code kafka}, {@code cron} or {@code cloudevent}. */
  public String triggerOrHttp() {
    return trigger == null ? "http" : trigger;
  }

  public String traceId() {
    return traceparent == null || traceparent.length() < 35 ? null : traceparent.substring(3, 35);
  }
}
