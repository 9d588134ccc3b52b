package dev.conveyor.engine.attempt;

import dev.conveyor.engine.metering.AttemptOutcome;

/** What one attempt says: the function succeeded, the function failed, or Knative answered instead of it. */
public sealed interface Verdict {
  /** The function answered 2xx. */
  record Succeeded() implements Verdict {}

  /**
   * The function failed: it answered another status, gave no answer in time, or could not be reached.
   *
   * @param outcome the usage record's {@code error} or {@code timeout}, never {@code success}
   * @param retryable whether {@code retry} may be spent on it (transport errors, timeouts, {@code retryOnStatus})
   */
  record Failed(AttemptOutcome outcome, String error, boolean retryable) implements Verdict {}

  /**
   * Knative's Activator or queue-proxy answered, not the function: no usage record, no breaker verdict,
   * no {@code retry} spent; the platform budget ({@code platformRetries}) bounds how often.
   */
  record Platform(Kind kind, String reason) implements Verdict {}

  enum Kind {
    /** The revision has no ready pod: 503/404 while at zero, or the Activator's "revision not found" 404. */
    NOT_READY,
    /** The Activator held the call for the revision's {@code timeoutSeconds} and no pod became ready: 504. */
    ACTIVATOR_TIMEOUT,
    /** queue-proxy's (or the Activator's) request queue is full: 503, the revision is warm but has no room. */
    OVERLOADED
  }
}
