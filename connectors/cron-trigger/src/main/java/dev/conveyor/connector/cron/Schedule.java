package dev.conveyor.connector.cron;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A cron expression in a time zone, and which of its ticks are due. Five fields are UNIX cron
 * ({@code min hour dom month dow}); six put seconds first, Spring's syntax
 * ({@code sec min hour dom month dow}), for schedules finer than a minute. cron-utils parses them
 * and walks the calendar, DST gaps and repeats included: a tick that falls into a spring-forward gap
 * does not exist, one in an autumn repeat fires once (the first).
 *
 * <p>The missed-tick policy decides what happens to ticks that came due while no replica ran the
 * schedule (every gateway down, or the lease between two leaders):
 * <ul>
 *   <li>{@link Missed#fireLast} (default): only the latest missed tick fires, once, as a Kubernetes
 *       CronJob does;
 *   <li>{@link Missed#fireAll}: every missed tick fires, oldest first;
 *   <li>{@link Missed#skip}: none fires; the schedule goes on from now.
 * </ul>
 * Either way only ticks within {@code catchUpWindow} of now are fired late, and at most
 * {@link #MAX_CATCH_UP}. Ticks that come due while a replica leads always fire, late or not.
 */
final class Schedule {
  enum Missed { fireLast, fireAll, skip }

  static final int MAX_CATCH_UP = 1000;

  private final String expression;
  private final ZoneId zone;
  private final ExecutionTime times;
  private final Missed missed;
  private final Duration catchUpWindow;

  Schedule(String expression, ZoneId zone, Missed missed, Duration catchUpWindow) {
    this.expression = expression;
    this.zone = zone;
    this.missed = missed;
    this.catchUpWindow = catchUpWindow;
    this.times = ExecutionTime.forCron(parse(expression));
  }

  /**
   * @throws IllegalArgumentException with what is wrong in the expression (the config binding names the
   *     key and the value: {@code connectors[0].schedule: has 4 fields; ..., got '0 2 * *'})
   */
  static Cron parse(String expression) {
    String trimmed = expression.trim();
    int fields = trimmed.split("\\s+").length;
    CronType type = switch (fields) {
      case 5 -> CronType.UNIX;
      case 6 -> CronType.SPRING53;
      default -> throw new IllegalArgumentException("has " + fields + " fields; use 5 (min hour day month weekday) or 6 (seconds first)");
    };
    try {
      return new CronParser(CronDefinitionBuilder.instanceDefinitionFor(type)).parse(trimmed).validate();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("is not a valid cron expression (" + e.getMessage().toLowerCase(Locale.ROOT) + ")");
    }
  }

  /**
   * The first tick strictly after {@code t}, if the expression has one. Ticks are whole seconds:
   * cron-utils keeps the sub-second part of its argument, so it is cut first (else a schedule would
   * tick at the millisecond its leader started, and two leaders would disagree on a tick's name).
   */
  Optional<Instant> after(Instant t) {
    return times.nextExecution(ZonedDateTime.ofInstant(t.truncatedTo(ChronoUnit.SECONDS), zone))
        .map(z -> z.toInstant().truncatedTo(ChronoUnit.SECONDS));
  }

  /**
   * The ticks to fire when a replica starts leading at {@code now}, after the last fired tick
   * {@code last} (null: the schedule never fired, so nothing was missed).
   */
  List<Instant> missed(Instant last, Instant now) {
    List<Instant> due = due(last, now, true);
    if (due.isEmpty() || missed == Missed.skip) return List.of();
    if (missed == Missed.fireLast) return List.of(due.get(due.size() - 1));
    return due;
  }

  /**
   * Ticks in {@code (last, now]}, oldest first, at most {@link #MAX_CATCH_UP} (the newest);
   * {@code windowed}: only those within the catch-up window (missed ones), else all (due while leading).
   */
  List<Instant> due(Instant last, Instant now, boolean windowed) {
    if (last == null) return List.of();
    Instant from = last;
    Instant windowStart = now.minus(catchUpWindow);
    if (windowed && from.isBefore(windowStart)) from = windowStart.minusNanos(1);
    List<Instant> due = new ArrayList<>();
    Optional<Instant> t = after(from);
    while (t.isPresent() && !t.get().isAfter(now)) {
      due.add(t.get());
      if (due.size() > MAX_CATCH_UP) due.remove(0);
      t = after(t.get());
    }
    return due;
  }

  Missed policy() {
    return missed;
  }

  String expression() {
    return expression;
  }

  ZoneId zone() {
    return zone;
  }
}
