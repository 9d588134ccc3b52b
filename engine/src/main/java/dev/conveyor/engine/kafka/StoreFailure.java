package dev.conveyor.engine.kafka;

import org.apache.kafka.common.errors.RecordTooLargeException;

/**
 * What a failed write to Kafka says about the record, for callers that must answer for it without
 * knowing Kafka's exception types: the one place they are read.
 */
public enum StoreFailure {
  /** Larger than Kafka takes: sending the same record again fails the same way. */
  TOO_LARGE,
  /** Kafka cannot tell whether it was stored ({@link OutcomeUnknownException}). */
  OUTCOME_UNKNOWN,
  /** Kafka said it was not stored; a later try may succeed. */
  NOT_STORED;

  public static StoreFailure of(Throwable err) {
    if (err instanceof RecordTooLargeException) return TOO_LARGE;
    if (err instanceof OutcomeUnknownException) return OUTCOME_UNKNOWN;
    return NOT_STORED;
  }

  /** Whether the failure is one Kafka may get over (a broker down or busy), so its health should hear of it. */
  public static boolean retriable(Throwable err) {
    return KafkaSender.retriable(err);
  }
}
