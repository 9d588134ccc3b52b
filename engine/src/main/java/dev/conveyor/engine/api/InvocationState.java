package dev.conveyor.engine.api;

/**
 * The lifecycle of an invocation. Terminal states never change again. {@code voided} is never shown
 * as a status: it marks an id whose write had an unknown outcome and that a fence settled as never
 * stored (the API answers 404 {@code invocation_not_stored} for it); no copy of it ever runs.
 *
 * <p>Packed status records store a state by its position here: add states only at the end.
 */
public enum InvocationState {
  queued, running, retrying, succeeded, failed, expired, cancelled, voided;

  public boolean terminal() {
    return this == succeeded || this == failed || this == expired || this == cancelled || this == voided;
  }
}
