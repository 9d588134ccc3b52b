package dev.conveyor.engine.api;

/** The function's answer of the final attempt, served by {@code /result}. */
public record StoredResult(int httpStatus, String contentType, byte[] body) {
  public int size() {
    return body.length + (contentType == null ? 0 : contentType.length());
  }
}
