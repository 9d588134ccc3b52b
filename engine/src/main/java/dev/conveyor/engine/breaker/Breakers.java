package dev.conveyor.engine.breaker;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * One Resilience4j circuit breaker per function. A failure is what says the function (not the
 * caller) is unwell: no answer, a transport error, 429 or a 5xx. While a breaker is open no call is
 * made: async invocations wait (no attempt spent, no usage), sync calls get 503. After
 * {@code openFor} a few probes decide whether it closes. {@code conveyor_circuit_state} shows each
 * breaker: 0 closed, 1 open, 2 half-open.
 */
public final class Breakers {
  private final CircuitBreakerRegistry registry = CircuitBreakerRegistry.ofDefaults();
  private final MeterRegistry meters;
  private final Clock clock;

  public Breakers(MeterRegistry meters, Time time) {
    this.meters = meters;
    this.clock = time.clock();
  }

  public CircuitBreaker of(FunctionTarget t) {
    String name = t.namespace() + "/" + t.name();
    return registry.find(name).orElseGet(() -> {
      CircuitBreakerConfig config = CircuitBreakerConfig.custom()
          .failureRateThreshold(t.breaker().failureRateThreshold())
          .minimumNumberOfCalls(t.breaker().minimumCalls())
          .slidingWindowSize(Math.max(t.breaker().minimumCalls(), 20))
          .waitDurationInOpenState(t.breaker().openFor())
          .permittedNumberOfCallsInHalfOpenState(3)
          .clock(clock)
          .build();
      CircuitBreaker cb = registry.circuitBreaker(name, config);
      Gauge.builder("conveyor.circuit.state", cb, Breakers::state)
          .tags("k8s_namespace_name", t.namespace(), "kn_service_name", t.name())
          .register(meters);
      return cb;
    });
  }

  static double state(CircuitBreaker cb) {
    return switch (cb.getState()) {
      case OPEN, FORCED_OPEN -> 1;
      case HALF_OPEN -> 2;
      default -> 0;
    };
  }

  public static boolean isFailure(AttemptResult r) {
    if (r instanceof AttemptResult.Response resp) return resp.status() >= 500 || resp.status() == 429;
    return true;
  }

  /** Tells the breaker how a permitted call went. */
  public static void record(CircuitBreaker cb, AttemptResult r, long ms) {
    if (isFailure(r)) cb.onError(ms, TimeUnit.MILLISECONDS, new FunctionUnwell());
    else cb.onSuccess(ms, TimeUnit.MILLISECONDS);
  }

  /** What the breaker records as an error; never thrown. */
  static final class FunctionUnwell extends RuntimeException {
    FunctionUnwell() {
      super("function unwell", null, false, false);
    }
  }
}
