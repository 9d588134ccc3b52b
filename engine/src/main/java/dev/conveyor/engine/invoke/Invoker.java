package dev.conveyor.engine.invoke;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.functions.FunctionTarget;
import io.vertx.core.Future;

/** Calls a function once. Never fails its future: every ending is an {@link AttemptResult}. */
public interface Invoker {
  Future<AttemptResult> invoke(Invocation invocation, FunctionTarget target, int attempt);
}
