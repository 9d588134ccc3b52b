package dev.conveyor.engine.metering;

/** Whether the caller waited for the attempt (the names are the usage record's {@code mode} values). */
public enum InvocationMode {
  /** Accepted, stored on the queue, delivered by the dispatcher. */
  async,
  /** Run while the caller waits for its answer. */
  sync
}
