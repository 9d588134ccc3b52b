package dev.conveyor.engine.testing;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.invoke.Invoker;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

/**
 * A function (and the platform in front of it) that answers what the test scripted, in order, each
 * answer after the time it takes on a {@link ManualTime}. A call beyond the script fails the test.
 */
public final class ScriptedInvoker implements Invoker {
  /** One scripted answer: what comes back, and how long the call takes. */
  public record Answer(AttemptResult result, Duration takes) {}

  /** One call made: which attempt, with which timeout. */
  public record Call(String id, int attempt, long timeoutMs, FunctionTarget target) {}

  private final ManualTime time;
  private final Deque<Answer> script = new ArrayDeque<>();
  private final List<Call> calls = new ArrayList<>();

  public ScriptedInvoker(ManualTime time) {
    this.time = time;
  }

  public synchronized ScriptedInvoker then(AttemptResult result, Duration takes) {
    script.add(new Answer(result, takes));
    return this;
  }

  public ScriptedInvoker then(AttemptResult result) {
    return then(result, Duration.ofMillis(20));
  }

  public synchronized List<Call> calls() {
    return List.copyOf(calls);
  }

  public synchronized int left() {
    return script.size();
  }

  @Override
  public Future<AttemptResult> invoke(Invocation invocation, FunctionTarget target, int attempt, long timeoutMs,
      Map<String, String> trace) {
    Answer a;
    synchronized (this) {
      calls.add(new Call(invocation.id(), attempt, timeoutMs, target));
      a = script.poll();
    }
    if (a == null) throw new AssertionError("call " + calls.size() + " (attempt " + attempt + ") was not scripted");
    Promise<AttemptResult> p = Promise.promise();
    time.setTimer(Math.max(1, a.takes().toMillis()), () -> p.complete(a.result()));
    return p.future();
  }

  public static AttemptResult status(int status) {
    return status(status, "");
  }

  public static AttemptResult status(int status, String body) {
    Buffer b = Buffer.buffer(body.getBytes(StandardCharsets.UTF_8));
    return new AttemptResult.Response(status, "text/plain", null, b, b.length());
  }

  public static AttemptResult retryAfter(int status, String retryAfter) {
    return new AttemptResult.Response(status, "text/plain", retryAfter, Buffer.buffer(), 0);
  }

  public static AttemptResult timeout(long afterMs) {
    return new AttemptResult.Timeout(afterMs);
  }

  public static AttemptResult unreachable() {
    return new AttemptResult.TransportError("connection refused");
  }
}
