package dev.conveyor.engine.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class TopicsTest {
  private final Topics topics = Topics.of("c.");

  @Test
  void shouldNameTheRetryTiersAfterTheirDelays() {
    assertThat(topics.retryTiers()).extracting(Topics.Tier::topic)
        .containsExactly("c.retry.5s", "c.retry.30s", "c.retry.2m", "c.retry.10m", "c.retry.1h");
    assertThat(topics.shortestTier()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void shouldPickTheLongestTierThatDoesNotOverrunTheWait() {
    assertThat(topics.tierFor(Duration.ofSeconds(5)).topic()).isEqualTo("c.retry.5s");
    assertThat(topics.tierFor(Duration.ofSeconds(29)).topic()).isEqualTo("c.retry.5s");
    assertThat(topics.tierFor(Duration.ofSeconds(31)).topic()).isEqualTo("c.retry.30s");
    assertThat(topics.tierFor(Duration.ofMinutes(9)).topic()).isEqualTo("c.retry.2m");
    assertThat(topics.tierFor(Duration.ofHours(6)).topic()).isEqualTo("c.retry.1h");
    assertThat(topics.tier("c.retry.10m")).map(Topics.Tier::delay).contains(Duration.ofMinutes(10));
    assertThat(topics.tier("c.invocations")).isEmpty();
  }
}
