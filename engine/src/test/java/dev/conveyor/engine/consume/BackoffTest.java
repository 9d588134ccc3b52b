package dev.conveyor.engine.consume;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import java.time.Duration;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static Delivery d(BackoffPolicy p) {
    return new Delivery(5, p, Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofHours(1), Duration.ofSeconds(30), 10, Set.of(), null, null, null);
  }

  @Test
  void shouldDoubleTheCeilingExponentiallyUpToTheCap() {
    assertThat(Backoff.ceilingMs(d(BackoffPolicy.exponential), 1)).isEqualTo(1000);
    assertThat(Backoff.ceilingMs(d(BackoffPolicy.exponential), 2)).isEqualTo(2000);
    assertThat(Backoff.ceilingMs(d(BackoffPolicy.exponential), 4)).isEqualTo(8000);
    assertThat(Backoff.ceilingMs(d(BackoffPolicy.exponential), 5)).isEqualTo(10_000);
    assertThat(Backoff.ceilingMs(d(BackoffPolicy.exponential), 80)).isEqualTo(10_000);
  }

  @Test
  void shouldGrowTheCeilingLinearlyUpToTheCap() {
    assertThat(Backoff.ceilingMs(d(BackoffPolicy.linear), 3)).isEqualTo(3000);
    assertThat(Backoff.ceilingMs(d(BackoffPolicy.linear), 30)).isEqualTo(10_000);
  }

  @Test
  void shouldDrawFullJitterBetweenZeroAndTheCeiling() {
    assertThat(new Backoff(() -> 0.0).delayMs(d(BackoffPolicy.exponential), 3, -1)).isZero();
    assertThat(new Backoff(() -> 0.5).delayMs(d(BackoffPolicy.exponential), 3, -1)).isEqualTo(2000);
    assertThat(new Backoff(() -> 0.999999).delayMs(d(BackoffPolicy.exponential), 3, -1)).isEqualTo(4000);
    SplittableRandom seeded = new SplittableRandom(7);
    Backoff b = new Backoff(seeded::nextDouble);
    long min = Long.MAX_VALUE, max = 0;
    for (int i = 0; i < 10_000; i++) {
      long v = b.delayMs(d(BackoffPolicy.exponential), 4, -1);
      assertThat(v).isBetween(0L, 8000L);
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertThat(min).isLessThan(100);
    assertThat(max).isGreaterThan(7900);
  }

  @Test
  void shouldNeverRetryBeforeRetryAfterButStayWithinTheCap() {
    assertThat(new Backoff(() -> 0.0).delayMs(d(BackoffPolicy.exponential), 1, 3000)).isEqualTo(3000);
    assertThat(new Backoff(() -> 1.0).delayMs(d(BackoffPolicy.exponential), 1, 300)).isEqualTo(1000);
    assertThat(new Backoff(() -> 0.0).delayMs(d(BackoffPolicy.exponential), 1, 3_600_000)).isEqualTo(10_000);
  }
}
