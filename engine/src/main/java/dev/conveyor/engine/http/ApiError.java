package dev.conveyor.engine.http;

import dev.conveyor.engine.kafka.StoreFailure;

/**
 * A refusal the caller can act on: HTTP status, a stable code, and what to do. Mapped to JSON in
 * one place ({@link FailureHandler}). No stack trace: it is a value, not a bug.
 */
public final class ApiError extends RuntimeException {
  private final int status;
  private final String code;
  private final Long retryAfterSeconds;
  /** The invocation the answer is about, when the caller needs its id to look it up. */
  private final String invocationId;

  public ApiError(int status, String code, String message) {
    this(status, code, message, null);
  }

  public ApiError(int status, String code, String message, Long retryAfterSeconds) {
    this(status, code, message, retryAfterSeconds, null);
  }

  public ApiError(int status, String code, String message, Long retryAfterSeconds, String invocationId) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
    this.invocationId = invocationId;
  }

  public String invocationId() {
    return invocationId;
  }

  /**
   * The answer to a write of invocation {@code id} that failed: 413 when it was too large to store,
   * 503 {@code store_outcome_unknown} with the id when Kafka cannot tell whether it was stored, else
   * 503 {@code kafka_unavailable} (Kafka said it was not). {@code what} names it for the message.
   */
  public static ApiError storeFailed(Throwable err, String id, String what) {
    StoreFailure failure = StoreFailure.of(err);
    if (failure == StoreFailure.TOO_LARGE) {
      return new ApiError(413, "payload_too_large", "The " + what + " is too large to store; send a smaller payload.");
    }
    if (failure == StoreFailure.OUTCOME_UNKNOWN) {
      return new ApiError(503, "store_outcome_unknown", "Kafka did not confirm whether the " + what + " was stored. Look up "
          + "its id (GET /v1/invocations/{id}) before sending it again: the answer says whether it was stored, or that it "
          + "never was and never will run. With an Idempotency-Key, sending it again is safe: it runs once.", 5L, id);
    }
    return unavailable("The " + what + " could not be stored; it was not accepted. Retry later.");
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  public Long retryAfterSeconds() {
    return retryAfterSeconds;
  }

  public static ApiError badRequest(String code, String message) {
    return new ApiError(400, code, message);
  }

  public static ApiError unauthenticated(String message) {
    return new ApiError(401, "unauthenticated", message);
  }

  public static ApiError forbidden(String code, String message) {
    return new ApiError(403, code, message);
  }

  public static ApiError notFound(String code, String message) {
    return new ApiError(404, code, message);
  }

  public static ApiError unavailable(String message) {
    return new ApiError(503, "kafka_unavailable", message, 5L);
  }
}
