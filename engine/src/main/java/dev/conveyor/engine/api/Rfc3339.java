package dev.conveyor.engine.api;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * RFC 3339 timestamps in UTC, written field by field: {@link DateTimeFormatter} walks its printer
 * parsers and time-zone rules for every call, which showed in the profiles of the accept path (a
 * timestamp in every 202) and of every usage record.
 */
public final class Rfc3339 {
  /** The formatter's own rules, for years outside four digits. */
  public static final DateTimeFormatter MILLIS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private Rfc3339() {}

  /** Always with milliseconds, as usage records carry them: {@code 2026-03-01T10:00:00.000Z}. */
  public static String millis(Instant t) {
    StringBuilder b = seconds(t);
    if (b == null) return MILLIS.format(t);
    return three(b.append('.'), t.getNano() / 1_000_000).append('Z').toString();
  }

  /**
   * What {@link Instant#toString()} writes for an instant of millisecond precision (the fraction only
   * when there is one: {@code 2026-03-01T10:00:00Z}, {@code 2026-03-01T10:00:00.120Z}); any other,
   * through it.
   */
  public static String instant(Instant t) {
    int nano = t.getNano();
    StringBuilder b = nano % 1_000_000 != 0 ? null : seconds(t);
    if (b == null) return t.toString();
    if (nano != 0) three(b.append('.'), nano / 1_000_000);
    return b.append('Z').toString();
  }

  /** Up to the seconds; null outside the years 1000-9999. */
  private static StringBuilder seconds(Instant t) {
    LocalDateTime d = LocalDateTime.ofEpochSecond(t.getEpochSecond(), 0, ZoneOffset.UTC);
    int year = d.getYear();
    if (year < 1000 || year > 9999) return null;
    StringBuilder b = new StringBuilder(24).append(year).append('-');
    two(b, d.getMonthValue()).append('-');
    two(b, d.getDayOfMonth()).append('T');
    two(b, d.getHour()).append(':');
    two(b, d.getMinute()).append(':');
    return two(b, d.getSecond());
  }

  private static StringBuilder two(StringBuilder b, int v) {
    if (v < 10) b.append('0');
    return b.append(v);
  }

  private static StringBuilder three(StringBuilder b, int v) {
    if (v < 100) b.append('0');
    if (v < 10) b.append('0');
    return b.append(v);
  }
}
