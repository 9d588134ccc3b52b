package dev.conveyor.engine.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConveyorConfig.Limits;
import dev.conveyor.engine.testing.ManualTime;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The token bucket against a manual clock: burst, refill, honest Retry-After, tenants apart, reload. */
class RateQuotasTest {
  private final ManualTime time = new ManualTime();
  private final RateQuotas quotas = new RateQuotas(time);

  private static Limits limits(int rate, int burst) {
    return new Limits(10, rate, burst, 1000, 1024);
  }

  @Test
  void aBurstPassesThenTheRateHoldsWithAnHonestWait() {
    Limits l = limits(2, 4);
    for (int i = 0; i < 4; i++) assertThat(quotas.tryAcquire("acme", l)).as("burst " + i).isEmpty();
    assertThat(quotas.tryAcquire("acme", l)).hasValue(1); // the next token comes in 0.5 s: Retry-After 1
    time.advance(Duration.ofMillis(500));
    assertThat(quotas.tryAcquire("acme", l)).isEmpty();
    assertThat(quotas.tryAcquire("acme", l)).isPresent();
  }

  @Test
  void aSlowRateAnswersTheSecondsUntilTheNextToken() {
    Limits l = new Limits(10, 1, 1, 1000, 1024);
    assertThat(quotas.tryAcquire("acme", l)).isEmpty();
    assertThat(quotas.tryAcquire("acme", l)).hasValue(1);
    time.advance(Duration.ofMillis(999));
    assertThat(quotas.tryAcquire("acme", l)).hasValue(1);
    time.advance(Duration.ofMillis(1));
    assertThat(quotas.tryAcquire("acme", l)).isEmpty();
  }

  @Test
  void tenantsHaveTheirOwnBuckets() {
    Limits l = limits(1, 1);
    assertThat(quotas.tryAcquire("acme", l)).isEmpty();
    assertThat(quotas.tryAcquire("acme", l)).isPresent();
    assertThat(quotas.tryAcquire("globex", l)).as("a flood from acme costs globex nothing").isEmpty();
  }

  @Test
  void changedLimitsTakeEffectAtOnce() {
    assertThat(quotas.tryAcquire("acme", limits(1, 1))).isEmpty();
    assertThat(quotas.tryAcquire("acme", limits(1, 1))).isPresent();
    assertThat(quotas.tryAcquire("acme", limits(100, 50))).as("reloaded with a larger burst").isEmpty();
  }
}
