package dev.conveyor.engine.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static Delivery d(BackoffPolicy p) {
    return new Delivery(5, p, Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofHours(1), Duration.ofSeconds(30), Set.of(), null);
  }

  @Test
  void shouldDoubleExponentiallyUpToTheCap() {
    assertThat(Backoff.delayMs(d(BackoffPolicy.exponential), 1)).isEqualTo(1000);
    assertThat(Backoff.delayMs(d(BackoffPolicy.exponential), 2)).isEqualTo(2000);
    assertThat(Backoff.delayMs(d(BackoffPolicy.exponential), 4)).isEqualTo(8000);
    assertThat(Backoff.delayMs(d(BackoffPolicy.exponential), 5)).isEqualTo(10_000);
    assertThat(Backoff.delayMs(d(BackoffPolicy.exponential), 80)).isEqualTo(10_000);
  }

  @Test
  void shouldGrowLinearlyUpToTheCap() {
    assertThat(Backoff.delayMs(d(BackoffPolicy.linear), 3)).isEqualTo(3000);
    assertThat(Backoff.delayMs(d(BackoffPolicy.linear), 30)).isEqualTo(10_000);
  }
}
