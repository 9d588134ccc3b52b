package dev.conveyor.engine.metering;

import dev.conveyor.engine.config.ConveyorConfig.Budget;
import dev.conveyor.engine.config.ConveyorConfig.BudgetPeriod;
import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.TreeSet;

/**
 * The arithmetic of usage budgets, one place for the gateway that enforces them and the rollups that
 * raise their alerts, so both see the same period and the same fraction spent.
 *
 * <p>A period is the calendar day or month in the budget's {@code timeZone}. The rollups it is read
 * from are hourly (UTC hours), so a period runs from the start of the UTC hour that holds its first
 * instant: the same instant in every zone whose offset is whole hours, up to 45 minutes earlier in
 * the others.
 */
public final class BudgetWindows {
  private BudgetWindows() {}

  /** One period of a budget: {@code [start, end)}. */
  public record Window(Instant start, Instant end) {
    /** Whole seconds from {@code now} to the period's end, at least 1 (a {@code Retry-After}). */
    public long secondsLeft(Instant now) {
      return Math.max(1, (end.toEpochMilli() - now.toEpochMilli() + 999) / 1000);
    }
  }

  /** The period of {@code budget} that holds {@code now}. */
  public static Window window(Budget budget, Instant now) {
    ZoneId zone = ZoneId.of(budget.timeZone());
    ZonedDateTime local = now.atZone(zone);
    ZonedDateTime start = budget.period() == BudgetPeriod.day ? local.toLocalDate().atStartOfDay(zone)
        : local.toLocalDate().withDayOfMonth(1).atStartOfDay(zone);
    ZonedDateTime end = budget.period() == BudgetPeriod.day ? start.toLocalDate().plusDays(1).atStartOfDay(zone)
        : start.toLocalDate().plusMonths(1).atStartOfDay(zone);
    return new Window(start.toInstant().truncatedTo(ChronoUnit.HOURS), end.toInstant().truncatedTo(ChronoUnit.HOURS));
  }

  /**
   * How much of the budget is spent, as a fraction (1 = all of it): the larger of GiB-seconds used
   * over {@code gibSeconds} and invocations over {@code invocations}, each where the budget sets it.
   */
  public static double usedRatio(Budget budget, BigDecimal gibSeconds, long invocations) {
    double r = 0;
    if (budget.gibSeconds() != null) r = Math.max(r, gibSeconds.divide(budget.gibSeconds(), MathContext.DECIMAL64).doubleValue());
    if (budget.invocations() != null) r = Math.max(r, (double) invocations / budget.invocations());
    return Math.max(0, r);
  }

  /** Whether the budget is spent: {@link #usedRatio} at least 1 (exact, not through a double). */
  public static boolean spent(Budget budget, BigDecimal gibSeconds, long invocations) {
    return budget.gibSeconds() != null && gibSeconds.compareTo(budget.gibSeconds()) >= 0
        || budget.invocations() != null && invocations >= budget.invocations();
  }

  /** The fractions at which the budget raises an event: its {@code alertAt}, and 1 (spent), in order. */
  public static List<Double> thresholds(Budget budget) {
    TreeSet<Double> t = new TreeSet<>(budget.alertAt());
    t.add(1.0);
    return List.copyOf(t);
  }

  /**
   * What identifies a budget across reloads: its period, zone and amounts. Alerts are raised once per
   * budget, period and threshold; a budget given new amounts is a new budget, whose thresholds raise
   * their events again when crossed.
   */
  public static String key(Budget budget) {
    return budget.period() + "|" + budget.timeZone() + "|" + (budget.gibSeconds() == null ? "-" : budget.gibSeconds().toPlainString())
        + "|" + (budget.invocations() == null ? "-" : budget.invocations());
  }
}
