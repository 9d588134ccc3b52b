package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConveyorConfig.Budget;
import dev.conveyor.engine.config.ConveyorConfig.BudgetPeriod;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class BudgetWindowsTest {
  private static Budget budget(BudgetPeriod period, String zone) {
    return new Budget(period, new BigDecimal("10"), 100L, List.of(0.5, 0.8), true, zone);
  }

  @Test
  void periodsAreCalendarDaysAndMonthsInTheBudgetsZoneFromTheStartOfTheirUtcHour() {
    Instant t = Instant.parse("2026-12-31T23:30:00Z");
    assertThat(BudgetWindows.window(budget(BudgetPeriod.month, "UTC"), t))
        .isEqualTo(new BudgetWindows.Window(Instant.parse("2026-12-01T00:00:00Z"), Instant.parse("2027-01-01T00:00:00Z")));
    // Berlin is in 2027 already: its January began at 23:00 UTC.
    assertThat(BudgetWindows.window(budget(BudgetPeriod.month, "Europe/Berlin"), t))
        .isEqualTo(new BudgetWindows.Window(Instant.parse("2026-12-31T23:00:00Z"), Instant.parse("2027-01-31T23:00:00Z")));
    // Kolkata (UTC+5:30): its day starts at 18:30 UTC, counted from 18:00, the start of that UTC hour.
    assertThat(BudgetWindows.window(budget(BudgetPeriod.day, "Asia/Kolkata"), t))
        .isEqualTo(new BudgetWindows.Window(Instant.parse("2026-12-31T18:00:00Z"), Instant.parse("2027-01-01T18:00:00Z")));
    assertThat(new BudgetWindows.Window(t, t.plusMillis(1500)).secondsLeft(t)).isEqualTo(2);
  }

  @Test
  void theFractionUsedIsTheLargerOfItsAmountsAndSpentIsExact() {
    Budget b = budget(BudgetPeriod.day, "UTC");
    assertThat(BudgetWindows.usedRatio(b, new BigDecimal("5"), 20)).isEqualTo(0.5);
    assertThat(BudgetWindows.usedRatio(b, new BigDecimal("1"), 90)).isEqualTo(0.9);
    assertThat(BudgetWindows.spent(b, new BigDecimal("9.999999999"), 99)).isFalse();
    assertThat(BudgetWindows.spent(b, new BigDecimal("10.000000000"), 0)).isTrue();
    assertThat(BudgetWindows.spent(b, BigDecimal.ZERO, 100)).isTrue();
    assertThat(BudgetWindows.thresholds(b)).containsExactly(0.5, 0.8, 1.0);
    assertThat(BudgetWindows.key(b)).isNotEqualTo(BudgetWindows.key(new Budget(BudgetPeriod.day, new BigDecimal("20"), 100L,
        List.of(0.5), true, "UTC")));
  }
}
