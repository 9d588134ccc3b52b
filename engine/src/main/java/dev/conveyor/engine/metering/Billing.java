package dev.conveyor.engine.metering;

import java.math.BigDecimal;
import java.math.RoundingMode;

/** Lambda-style billing arithmetic, in exact decimals (docs/metering.md). */
public final class Billing {
  private static final BigDecimal MIB_MS_PER_GIB_S = BigDecimal.valueOf(1024L * 1000L);

  private Billing() {}

  /** {@code durationMs} rounded up to a multiple of {@code granularityMs}. */
  public static long billedDurationMs(long durationMs, int granularityMs) {
    if (durationMs <= 0) return 0;
    long g = Math.max(1, granularityMs);
    return ((durationMs + g - 1) / g) * g;
  }

  /** billedMs/1000 x memoryMiB/1024, nine decimals, as billing systems want a string. */
  public static String gibSeconds(long billedMs, int memoryMiB) {
    return BigDecimal.valueOf(billedMs).multiply(BigDecimal.valueOf(memoryMiB))
        .divide(MIB_MS_PER_GIB_S, 9, RoundingMode.HALF_UP)
        .toPlainString();
  }
}
