package dev.conveyor.engine.testing;

/**
 * The integration tests' order (junit-platform.properties: classes by {@code @Order}). The classes
 * marked {@code @Execution(CONCURRENT)} (CrashIT, ColdStartHoldIT) start first and run for about two
 * minutes beside the sequence. The tests that kill brokers or gateways under load, run several
 * gateway processes, or measure a wait come after that: side by side with a crash test on two cores,
 * a restart took over 90 s to get ready and a fairness p99 doubled. Unmarked classes come first.
 */
public final class SuiteOrder {
  /** Later than every class without {@code @Order} (JUnit gives those {@code Integer.MAX_VALUE / 2}). */
  public static final int AFTER_THE_CONCURRENT_ONES = Integer.MAX_VALUE / 2 + 1;

  private SuiteOrder() {}
}
