package dev.conveyor.engine.breaker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.testing.ManualTime;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.buffer.Buffer;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class BreakersTest {
  /** A clock the test moves by hand: no sleeps. */
  private final ManualTime clock = new ManualTime(Instant.parse("2026-01-01T00:00:00Z"));
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final Breakers breakers = new Breakers(meters, clock);
  private final FunctionTarget fn = new FunctionTarget("acme", "resize", URI.create("http://x/f"), 128, 10,
      ConfigLoader.defaultDelivery(), new BreakerSpec(50, 4, Duration.ofSeconds(30)), null, null);

  private static final AttemptResult FAIL = new AttemptResult.Response(503, null, null, Buffer.buffer(), 0);
  private static final AttemptResult OK = new AttemptResult.Response(200, null, null, Buffer.buffer(), 0);

  private double state() {
    return meters.get("conveyor.circuit.state").tag("kn_service_name", "resize").gauge().value();
  }

  private void call(CircuitBreaker cb, AttemptResult r) {
    assertThat(cb.tryAcquirePermission()).isTrue();
    Breakers.record(cb, r, 5);
  }

  @Test
  void shouldOpenAfterTheFailureRateIsReachedOverTheMinimumCalls() {
    CircuitBreaker cb = breakers.of(fn);
    call(cb, FAIL);
    call(cb, OK);
    call(cb, FAIL);
    assertThat(state()).isZero();
    call(cb, FAIL);
    assertThat(state()).isEqualTo(1);
    assertThat(cb.tryAcquirePermission()).isFalse();
  }

  @Test
  void shouldProbeAfterOpenForAndCloseWhenTheProbesSucceed() {
    CircuitBreaker cb = breakers.of(fn);
    for (int i = 0; i < 4; i++) call(cb, FAIL);
    clock.advance(Duration.ofSeconds(29));
    assertThat(cb.tryAcquirePermission()).isFalse();
    clock.advance(Duration.ofSeconds(2));
    call(cb, OK);
    assertThat(state()).isEqualTo(2);
    call(cb, OK);
    call(cb, OK);
    assertThat(state()).isZero();
  }

  @Test
  void shouldReopenWhenAProbeFails() {
    CircuitBreaker cb = breakers.of(fn);
    for (int i = 0; i < 4; i++) call(cb, FAIL);
    clock.advance(Duration.ofSeconds(31));
    call(cb, FAIL);
    call(cb, FAIL);
    assertThat(state()).isEqualTo(2);
    call(cb, FAIL);
    assertThat(state()).isEqualTo(1);
  }

  @Test
  void shouldCountOnlyWhatSaysTheFunctionIsUnwell() {
    assertThat(Breakers.isFailure(new AttemptResult.Response(400, null, null, Buffer.buffer(), 0))).isFalse();
    assertThat(Breakers.isFailure(new AttemptResult.Response(404, null, null, Buffer.buffer(), 0))).isFalse();
    assertThat(Breakers.isFailure(new AttemptResult.Response(429, null, null, Buffer.buffer(), 0))).isTrue();
    assertThat(Breakers.isFailure(new AttemptResult.Response(500, null, null, Buffer.buffer(), 0))).isTrue();
    assertThat(Breakers.isFailure(new AttemptResult.Timeout(100))).isTrue();
    assertThat(Breakers.isFailure(new AttemptResult.TransportError("refused"))).isTrue();
    assertThat(breakers.of(fn)).isSameAs(breakers.of(fn));
  }
}
