package dev.conveyor.engine.attempt;

import dev.conveyor.engine.attempt.Verdict.Kind;
import dev.conveyor.engine.invoke.AttemptResult;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Tells Knative's own answers from the function's, by what knative/serving writes:
 * <ul>
 *   <li>{@code 504 activator request timeout}: the Activator's timeout handler
 *       ({@code cmd/activator/main.go}, {@code pkg/http/handler/timeout.go}) after the revision's
 *       {@code timeoutSeconds} without a ready pod;
 *   <li>{@code 503 pending request queue full}: queue-proxy's breaker ({@code pkg/queue/breaker.go}
 *       {@code ErrRequestQueueFull}, written by {@code pkg/queue/handler.go}) beyond containerConcurrency
 *       running plus 10 × containerConcurrency waiting per pod; the Activator writes the same text;
 *   <li>{@code 404 Error getting active endpoint: ...}: the Activator's context handler when the
 *       revision is not (or no longer) known;
 *   <li>any 503 or 404 while the revision still has no ready replica when the answer comes: the ingress
 *       or Activator before a pod is up (a call the Activator held until a pod was ready was answered
 *       by the function, whatever it says).
 * </ul>
 * queue-proxy's own {@code 504 request timeout} is the function running past {@code timeoutSeconds}: the
 * function's failure, not the platform's.
 */
public final class KnativeAnswers {
  static final String ACTIVATOR_TIMEOUT = "activator request timeout";
  static final String QUEUE_FULL = "pending request queue full";
  static final String NO_ENDPOINT = "Error getting active endpoint:";

  private KnativeAnswers() {}

  /** @param atZero the revision has no ready replica now, as the answer comes */
  public static Optional<Kind> platform(AttemptResult res, boolean atZero) {
    if (!(res instanceof AttemptResult.Response r)) return Optional.empty();
    int s = r.status();
    if (s != 503 && s != 504 && s != 404) return Optional.empty();
    String body = head(r);
    if (s == 504) return body.equals(ACTIVATOR_TIMEOUT) ? Optional.of(Kind.ACTIVATOR_TIMEOUT) : Optional.empty();
    if (s == 503 && body.equals(QUEUE_FULL)) return Optional.of(Kind.OVERLOADED);
    if (s == 404 && body.startsWith(NO_ENDPOINT)) return Optional.of(Kind.NOT_READY);
    return atZero ? Optional.of(Kind.NOT_READY) : Optional.empty();
  }

  /** The start of the body, trimmed (Go's {@code http.Error} ends it with a newline). */
  private static String head(AttemptResult.Response r) {
    int n = Math.min(r.body().length(), 200);
    return new String(r.body().getBytes(0, n), StandardCharsets.UTF_8).trim();
  }

  /** Words for {@code lastError} and the dead letter. */
  public static String describe(Kind kind, String revision, int status) {
    String rev = revision == null ? "the revision" : "revision " + revision;
    return switch (kind) {
      case ACTIVATOR_TIMEOUT -> rev + " did not become ready: the Activator held the call for the revision's timeoutSeconds and answered " + status;
      case OVERLOADED -> rev + " had no room: queue-proxy answered " + status + " " + QUEUE_FULL;
      case NOT_READY -> rev + " not ready: the platform answered " + status;
    };
  }
}
