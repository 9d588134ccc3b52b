package dev.conveyor.engine.invoke;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetryAfterTest {
  private static final long NOW = Instant.parse("2026-11-27T10:00:00Z").toEpochMilli();

  @Test
  void secondsAreMilliseconds() {
    assertThat(RetryAfter.millis("30", NOW)).isEqualTo(30_000);
    assertThat(RetryAfter.millis(" 0 ", NOW)).isZero();
    assertThat(RetryAfter.millis("-5", NOW)).isZero();
  }

  @Test
  void anHttpDateIsTheWaitUntilThen() {
    assertThat(RetryAfter.millis("Fri, 27 Nov 2026 10:01:30 GMT", NOW)).isEqualTo(90_000);
    assertThat(RetryAfter.millis("Fri, 27 Nov 2026 09:00:00 GMT", NOW)).as("in the past").isZero();
  }

  @Test
  void absentOrUnreadableIsMinusOne() {
    assertThat(RetryAfter.millis(null, NOW)).isEqualTo(-1);
    assertThat(RetryAfter.millis("", NOW)).isEqualTo(-1);
    assertThat(RetryAfter.millis("soon", NOW)).isEqualTo(-1);
  }
}
