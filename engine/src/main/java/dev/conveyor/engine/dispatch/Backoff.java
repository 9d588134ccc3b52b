package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;

/** The wait before attempt {@code n + 1} after attempt {@code n} failed (no jitter yet). */
final class Backoff {
  private Backoff() {}

  static long delayMs(Delivery d, int failedAttempt) {
    long base = d.backoffDelay().toMillis();
    long max = d.backoffMax().toMillis();
    long delay;
    if (d.backoffPolicy() == BackoffPolicy.linear) {
      delay = base * failedAttempt;
    } else {
      int shift = Math.min(30, Math.max(0, failedAttempt - 1));
      delay = base << shift;
      if (delay < 0) delay = max;
    }
    return Math.max(0, Math.min(delay, max));
  }
}
