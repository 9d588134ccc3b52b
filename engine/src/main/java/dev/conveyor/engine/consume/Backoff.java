package dev.conveyor.engine.consume;

import dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * The wait before the next attempt after attempt {@code n} failed: the policy's ceiling (delay ×
 * 2^(n-1), or delay × n), capped by {@code backoffMax}, with full jitter (a uniform draw in
 * [0, ceiling]) so that retries of many invocations do not arrive together; never less than the
 * function's {@code Retry-After}, which is itself capped by {@code backoffMax}.
 */
public final class Backoff {
  private final DoubleSupplier random;

  public Backoff(DoubleSupplier random) {
    this.random = random;
  }

  public static Backoff withJitter() {
    return new Backoff(() -> ThreadLocalRandom.current().nextDouble());
  }

  /** The ceiling of the draw, before jitter. */
  static long ceilingMs(Delivery d, int failedAttempt) {
    return ceilingMs(d.backoffPolicy(), d.backoffDelay().toMillis(), d.backoffMax().toMillis(), failedAttempt);
  }

  static long ceilingMs(BackoffPolicy policy, long base, long max, int failedAttempt) {
    long delay;
    if (policy == BackoffPolicy.linear) {
      delay = base * failedAttempt;
    } else {
      int shift = Math.min(30, Math.max(0, failedAttempt - 1));
      delay = base << shift;
    }
    if (delay < 0) delay = max;
    return Math.max(0, Math.min(delay, max));
  }

  /** @param retryAfterMs the function's Retry-After in ms, or a negative number when it sent none */
  public long delayMs(Delivery d, int failedAttempt, long retryAfterMs) {
    return delayMs(d.backoffPolicy(), d.backoffDelay(), d.backoffMax(), failedAttempt, retryAfterMs);
  }

  /** The same for any retried work (callbacks use it too). */
  public long delayMs(BackoffPolicy policy, java.time.Duration delay, java.time.Duration max, int failedAttempt,
      long retryAfterMs) {
    long jittered = Math.round(random.getAsDouble() * ceilingMs(policy, delay.toMillis(), max.toMillis(), failedAttempt));
    long floor = Math.min(Math.max(0, retryAfterMs), max.toMillis());
    return Math.max(jittered, floor);
  }
}
