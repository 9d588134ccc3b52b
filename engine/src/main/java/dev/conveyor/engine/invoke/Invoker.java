package dev.conveyor.engine.invoke;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.functions.FunctionTarget;
import io.vertx.core.Future;

/** Calls a function once. Never fails its future: every ending is an {@link AttemptResult}. */
public interface Invoker {
  /** One attempt, limited by the function's {@code delivery.timeout}. */
  default Future<AttemptResult> invoke(Invocation invocation, FunctionTarget target, int attempt) {
    return invoke(invocation, target, attempt, target.delivery().timeout().toMillis());
  }

  /** One attempt, limited by {@code timeoutMs}. */
  default Future<AttemptResult> invoke(Invocation invocation, FunctionTarget target, int attempt, long timeoutMs) {
    return invoke(invocation, target, attempt, timeoutMs, java.util.Map.of());
  }

  /**
   * @param trace headers carrying the attempt span's context (traceparent, b3...); empty: the
   *     invocation's own traceparent is sent
   */
  Future<AttemptResult> invoke(Invocation invocation, FunctionTarget target, int attempt, long timeoutMs,
      java.util.Map<String, String> trace);
}
