package dev.conveyor.engine.kafka;

/**
 * A write whose outcome Kafka cannot tell: the record reached the producer's buffer (and perhaps a
 * broker) and then failed for a reason that does not prove it was not appended, such as a delivery
 * timeout with its batch in flight, or a broker that acknowledged to a leader that then died. A
 * frozen broker may still append such a record when it resumes, after the producer gave up on it.
 * The failure Kafka reported is the cause.
 */
public final class OutcomeUnknownException extends RuntimeException {
  public OutcomeUnknownException(Throwable cause) {
    super("the write's outcome is unknown: " + cause, cause, false, false);
  }
}
