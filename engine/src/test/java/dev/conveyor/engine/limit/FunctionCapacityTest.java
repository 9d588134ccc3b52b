package dev.conveyor.engine.limit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.functions.Serving;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class FunctionCapacityTest {
  private static FunctionTarget target(int concurrency, int containerConcurrency, int pods) {
    Serving s = new Serving(containerConcurrency, containerConcurrency * Math.max(1, pods), 300_000, null, List.of(), null);
    return new FunctionTarget("acme", "resize", URI.create("http://resize.acme.svc.cluster.local"), 128, concurrency,
        ConfigLoader.defaultDelivery(), ConfigLoader.defaultBreaker(), "resize-00001", pods, s);
  }

  private final FunctionCapacity capacity = new FunctionCapacity();

  @Test
  void shouldAllowTwiceWhatTheReadyPodsRunAtOnceWithinTheFunctionsOwnConcurrency() {
    assertThat(capacity.limit(target(100, 1, 2))).isEqualTo(4);
    assertThat(capacity.limit(target(100, 10, 3))).isEqualTo(60);
    assertThat(capacity.limit(target(25, 10, 3))).as("the function's own concurrency is lower").isEqualTo(25);
    assertThat(capacity.limit(target(100, 0, 3))).as("containerConcurrency 0: unlimited by Knative").isEqualTo(100);
    assertThat(capacity.limit(target(100, 2, 0))).as("at zero: as if one pod were coming").isEqualTo(4);
  }

  @Test
  void shouldCutTheLimitOnOverloadAndRaiseItAgainOnAnswers() {
    FunctionTarget t = target(100, 10, 1); // bound 20
    capacity.sample(t, 0, 1_000_000, 20, true);
    assertThat(capacity.limit(t)).as("cut by AIMD's 0.9").isEqualTo(18);
    capacity.sample(t, 0, 1_000_000, 18, true);
    assertThat(capacity.limit(t)).isEqualTo(16);
    capacity.sample(t, 0, 1_000_000, 16, false);
    assertThat(capacity.limit(t)).as("plus one while in use").isEqualTo(17);
    capacity.sample(t, 0, 1_000_000, 1, false);
    assertThat(capacity.limit(t)).as("not raised while little of it is used").isEqualTo(17);
    for (int i = 0; i < 10; i++) capacity.sample(t, 0, 1_000_000, 20, false);
    assertThat(capacity.limit(t)).as("never above the bound").isEqualTo(20);
  }

  @Test
  void shouldFollowThePodsWhenTheRevisionScales() {
    FunctionTarget one = target(100, 10, 1);
    capacity.sample(one, 0, 1_000_000, 20, true);
    assertThat(capacity.limit(one)).isEqualTo(18);
    assertThat(capacity.limit(target(100, 10, 3))).as("scaled up: the new capacity at once").isEqualTo(60);
    assertThat(capacity.limit(target(100, 10, 1))).as("scaled down: cut to the new bound").isEqualTo(20);
  }

  @Test
  void shouldNotTreatALongCallAsOverload() {
    FunctionTarget t = target(100, 10, 1);
    capacity.sample(t, 0, 1_000_000, 20, true);
    capacity.sample(t, 0, java.util.concurrent.TimeUnit.MINUTES.toNanos(10), 18, false);
    assertThat(capacity.limit(t)).as("a 10 minute call is an answer, not a drop").isEqualTo(19);
  }
}
