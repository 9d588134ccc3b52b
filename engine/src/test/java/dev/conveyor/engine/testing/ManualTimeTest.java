package dev.conveyor.engine.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManualTimeTest {
  private final ManualTime time = new ManualTime();
  private final List<String> fired = new ArrayList<>();

  @Test
  void timersFireInDueOrderAsTheClockPassesThem() {
    time.setTimer(300, () -> fired.add("c"));
    time.setTimer(100, () -> fired.add("a"));
    time.setTimer(200, () -> fired.add("b"));
    time.advance(Duration.ofMillis(250));
    assertThat(fired).containsExactly("a", "b");
    assertThat(time.pendingTimers()).isEqualTo(1);
  }

  @Test
  void aPeriodicTimerFiresEveryPeriodUnderOneIdUntilCancelled() {
    long id = time.setPeriodic(100, () -> fired.add("tick@" + time.millis() % 10_000));
    time.advance(Duration.ofMillis(350));
    assertThat(fired).containsExactly("tick@100", "tick@200", "tick@300");
    assertThat(time.cancelTimer(id)).isTrue();
    time.advance(Duration.ofSeconds(1));
    assertThat(fired).hasSize(3);
    assertThat(time.pendingTimers()).isZero();
  }

  @Test
  void aPeriodicTimerMayCancelItselfWhileItRuns() {
    long[] id = {0};
    id[0] = time.setPeriodic(50, () -> {
      fired.add("once");
      time.cancelTimer(id[0]);
    });
    time.advance(Duration.ofMillis(500));
    assertThat(fired).containsExactly("once");
  }
}
