package dev.conveyor.engine.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** maxEventAge against an explicit clock: an invocation expires only once strictly older than the limit. */
class EventAgeTest {
  private static final Instant ACCEPTED = Instant.parse("2026-11-27T10:00:00Z");

  private static Delivery withAge(Duration age) {
    Delivery d = ConfigLoader.defaultDelivery();
    return new Delivery(d.retry(), d.backoffPolicy(), d.backoffDelay(), d.backoffMax(), age, d.timeout(),
        d.platformRetries(), d.retryOnStatus(), d.deadLetter(), d.onSuccess(), d.onFailure());
  }

  @Test
  void expiresOnlyPastTheLimit() {
    Delivery d = withAge(Duration.ofMinutes(10));
    assertThat(d.tooOld(ACCEPTED, ACCEPTED)).isFalse();
    assertThat(d.tooOld(ACCEPTED, ACCEPTED.plus(Duration.ofMinutes(10)))).as("exactly at the limit").isFalse();
    assertThat(d.tooOld(ACCEPTED, ACCEPTED.plus(Duration.ofMinutes(10)).plusMillis(1))).isTrue();
    assertThat(d.tooOld(ACCEPTED, ACCEPTED.plus(Duration.ofDays(3)))).isTrue();
  }

  @Test
  void zeroMeansNoLimit() {
    assertThat(withAge(Duration.ZERO).tooOld(ACCEPTED, ACCEPTED.plus(Duration.ofDays(365)))).isFalse();
  }

  @Test
  void theDefaultIsSixHours() {
    Delivery d = ConfigLoader.defaultDelivery();
    assertThat(d.tooOld(ACCEPTED, ACCEPTED.plus(Duration.ofHours(6)))).isFalse();
    assertThat(d.tooOld(ACCEPTED, ACCEPTED.plus(Duration.ofHours(6)).plusSeconds(1))).isTrue();
  }
}
