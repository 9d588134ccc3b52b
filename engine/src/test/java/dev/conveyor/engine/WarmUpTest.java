package dev.conveyor.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** When the warm-up counts the JIT as settled (the process-level behaviour is WarmUpIT's). */
class WarmUpTest {
  @Test
  void settledAfterTwoQuietSecondsInARowAndNotBeforeFiveSeconds() {
    assertThat(WarmUp.settled(List.of(900L, 40L, 30L))).as("too soon").isFalse();
    assertThat(WarmUp.settled(List.of(900L, 1100L, 1200L, 40L, 30L))).isTrue();
    assertThat(WarmUp.settled(List.of(900L, 1100L, 1200L, 40L, 130L))).as("still compiling").isFalse();
    assertThat(WarmUp.settled(List.of(900L, 1100L, 40L, 1200L, 30L))).as("one quiet second is not enough").isFalse();
    assertThat(WarmUp.settled(List.of(900L, 1100L, 1200L, 99L, 99L))).as("under " + WarmUp.SETTLED_MS + " ms").isTrue();
    assertThat(WarmUp.settled(List.of(900L, 1100L, 1200L, 100L, 99L))).isFalse();
  }
}
