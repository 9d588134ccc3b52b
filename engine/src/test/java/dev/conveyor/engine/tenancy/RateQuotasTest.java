package dev.conveyor.engine.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConveyorConfig.Limits;
import io.github.bucket4j.TimeMeter;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token bucket against a manual clock: burst, refill, honest Retry-After, tenants apart, reload. */
class RateQuotasTest {
  private final AtomicLong nanos = new AtomicLong();
  private final RateQuotas quotas = new RateQuotas(new TimeMeter() {
    @Override
    public long currentTimeNanos() {
      return nanos.get();
    }

    @Override
    public boolean isWallClockBased() {
      return false;
    }
  });

  private static Limits limits(int rate, int burst) {
    return new Limits(10, rate, burst, 1000, 1024);
  }

  @Test
  void aBurstPassesThenTheRateHoldsWithAnHonestWait() {
    Limits l = limits(2, 4);
    for (int i = 0; i < 4; i++) assertThat(quotas.tryAcquire("acme", l)).as("burst " + i).isEmpty();
    assertThat(quotas.tryAcquire("acme", l)).hasValue(1); // the next token comes in 0.5 s: Retry-After 1
    nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(500));
    assertThat(quotas.tryAcquire("acme", l)).isEmpty();
    assertThat(quotas.tryAcquire("acme", l)).isPresent();
  }

  @Test
  void aSlowRateAnswersTheSecondsUntilTheNextToken() {
    Limits l = new Limits(10, 1, 1, 1000, 1024);
    assertThat(quotas.tryAcquire("acme", l)).isEmpty();
    assertThat(quotas.tryAcquire("acme", l)).hasValue(1);
    nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
    assertThat(quotas.tryAcquire("acme", l)).hasValue(1);
    nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
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
