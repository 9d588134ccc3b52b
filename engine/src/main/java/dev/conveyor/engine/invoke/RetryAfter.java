package dev.conveyor.engine.invoke;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** {@code Retry-After} (RFC 9110, section 10.2.3): delay-seconds or an HTTP-date, as milliseconds from now. */
public final class RetryAfter {
  private RetryAfter() {}

  /**
   * @param nowMs the wall clock now, what an HTTP-date is counted from
   * @return the wait in ms, or -1 when the header is absent or unreadable
   */
  public static long millis(String header, long nowMs) {
    if (header == null || header.isBlank()) return -1;
    String v = header.trim();
    try {
      return Math.max(0, Long.parseLong(v)) * 1000;
    } catch (NumberFormatException notSeconds) {
      try {
        long at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
        return Math.max(0, at - nowMs);
      } catch (DateTimeParseException notADate) {
        return -1;
      }
    }
  }
}
