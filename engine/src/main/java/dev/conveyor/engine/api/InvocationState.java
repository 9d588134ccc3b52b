package dev.conveyor.engine.api;

/** The lifecycle of an invocation (SPEC §2). Terminal states never change again. */
public enum InvocationState {
  queued, running, retrying, succeeded, failed, expired, cancelled;

  public boolean terminal() {
    return this == succeeded || this == failed || this == expired || this == cancelled;
  }
}
