package dev.conveyor.engine.testing;

/**
 * How the integration tests share the machine (junit-platform.properties). Test classes run in a
 * sequence, one after another. Beside it runs a second lane: the classes marked {@link Beside}, one at
 * a time, which mostly wait (on timers, backoffs, gateways starting) and count outcomes, never time
 * them. Classes marked {@link Alone} run with nothing beside them: those that measure a wait or a
 * share of the CPU on a tight bound, need the CPU to restart gateways or brokers under load, or check
 * every thread of this JVM. Both hold the lock {@link #BESIDE} exclusively, so that holds whatever the
 * machine's speed; Alone classes also come last in the sequence, so that they find the second lane
 * done and do not wait for it.
 * {@code CrashIT} and {@code ColdStartHoldIT} hold it shared, beside the sequence: they run side by
 * side whenever the fork-join pool adds a worker for a test that blocks, as it usually does.
 */
public final class Lanes {
  /** The lock of the second lane. */
  public static final String BESIDE = "conveyor.it.beside-the-sequence";
  /** Before every class without {@code @Order}: the longest of the second lane start it. */
  public static final int FIRST = 1;
  /** After every class without {@code @Order} (JUnit gives those {@code Integer.MAX_VALUE / 2}). */
  public static final int LAST = Integer.MAX_VALUE / 2 + 1;

  private Lanes() {}
}
