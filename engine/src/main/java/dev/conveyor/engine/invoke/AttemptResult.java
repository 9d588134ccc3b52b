package dev.conveyor.engine.invoke;

import io.vertx.core.buffer.Buffer;

/** How one call to a function ended. A closed set: the dispatcher switches over it. */
public sealed interface AttemptResult {
  /**
   * The function answered (any status); {@code body} holds at most the kept bytes of {@code bodyBytes}.
   * {@code firstByteMs}: from sending the request to the response's headers; {@code serverTiming}: the
   * function's own {@code Server-Timing} header, if any.
   */
  record Response(int status, String contentType, String retryAfter, Buffer body, long bodyBytes, long firstByteMs,
      String serverTiming) implements AttemptResult {
    public Response(int status, String contentType, String retryAfter, Buffer body, long bodyBytes) {
      this(status, contentType, retryAfter, body, bodyBytes, 0, null);
    }
  }

  /** No answer within the attempt's timeout. */
  record Timeout(long afterMs) implements AttemptResult {}

  /** Connection refused, reset, DNS: the request may or may not have reached the function. */
  record TransportError(String message) implements AttemptResult {}
}
