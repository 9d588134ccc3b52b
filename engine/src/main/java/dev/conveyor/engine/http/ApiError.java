package dev.conveyor.engine.http;

/**
 * A refusal the caller can act on: HTTP status, a stable code, and what to do. Mapped to JSON in
 * one place ({@link FailureHandler}). No stack trace: it is a value, not a bug.
 */
public final class ApiError extends RuntimeException {
  private final int status;
  private final String code;
  private final Long retryAfterSeconds;

  public ApiError(int status, String code, String message) {
    this(status, code, message, null);
  }

  public ApiError(int status, String code, String message, Long retryAfterSeconds) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
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
