package dev.conveyor.engine.metering;

/** How an attempt that ran ended, as its usage record and the attempts metric say it (the names are the wire values). */
public enum AttemptOutcome {
  /** The function answered 2xx. */
  success,
  /** The function answered another status, or could not be reached. */
  error,
  /** The function gave no answer within the attempt's timeout. */
  timeout
}
