package dev.conveyor.engine.testing;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.MultiMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A function on loopback that behaves like a Knative revision's container and counts what it
 * receives: calls per invocation id, the headers of each call, and the peak of concurrent calls.
 * Its behaviour per call is a {@link Behaviour}: status and delay, decided from the call.
 */
public final class FunctionServer implements AutoCloseable {
  /** What to answer to one call. */
  public record Answer(int status, long delayMs, String body, String retryAfter, String serverTiming) {
    public Answer(int status, long delayMs, String body) {
      this(status, delayMs, body, null, null);
    }

    public Answer(int status, long delayMs, String body, String retryAfter) {
      this(status, delayMs, body, retryAfter, null);
    }

    public static Answer ok() {
      return new Answer(200, 0, null);
    }
  }

  /** A call as the function saw it. */
  public record Call(String path, String invocationId, int attempt, MultiMap headers, String body, String query) {}

  private final Vertx vertx = Vertx.vertx();
  private final HttpServer server;
  private final Map<String, AtomicInteger> callsById = new ConcurrentHashMap<>();
  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final AtomicInteger concurrent = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();
  private volatile Function<Call, Answer> behaviour = c -> Answer.ok();
  /** Each call's weight by path (its function's memory, say), summed over the calls in flight. */
  private volatile java.util.function.ToLongFunction<String> weight = path -> 0;
  private final java.util.concurrent.atomic.AtomicLong weighted = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong weightedPeak = new java.util.concurrent.atomic.AtomicLong();

  public FunctionServer() {
    server = vertx.createHttpServer().requestHandler(this::handle);
    try {
      server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  public FunctionServer behave(Function<Call, Answer> b) {
    this.behaviour = b;
    return this;
  }

  public String url(String path) {
    return "http://127.0.0.1:" + server.actualPort() + path;
  }

  /** Weighs each call by its path: {@link #peakWeight} is the largest sum of the weights of calls in flight at once. */
  public FunctionServer weigh(java.util.function.ToLongFunction<String> byPath) {
    this.weight = byPath;
    return this;
  }

  public long peakWeight() {
    return weightedPeak.get();
  }

  private void handle(HttpServerRequest req) {
    int now = concurrent.incrementAndGet();
    peak.accumulateAndGet(now, Math::max);
    long w = weight.applyAsLong(req.path());
    weightedPeak.accumulateAndGet(weighted.addAndGet(w), Math::max);
    req.body().onSuccess(body -> {
      String id = req.getHeader("x-conveyor-invocation-id");
      String attempt = req.getHeader("x-conveyor-attempt");
      Call call = new Call(req.path(), id, attempt == null ? 0 : Integer.parseInt(attempt),
          MultiMap.caseInsensitiveMultiMap().addAll(req.headers()), body.toString(), req.query());
      if (id != null) callsById.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
      calls.add(call);
      Answer a = behaviour.apply(call);
      Runnable reply = () -> {
        concurrent.decrementAndGet();
        weighted.addAndGet(-w);
        var resp = req.response().setStatusCode(a.status());
        String ct = req.getHeader("content-type");
        if (ct != null) resp.putHeader("content-type", ct);
        if (a.retryAfter() != null) resp.putHeader("retry-after", a.retryAfter());
        if (a.serverTiming() != null) resp.putHeader("server-timing", a.serverTiming());
        resp.end(a.body() != null ? a.body() : body.toString());
      };
      if (a.delayMs() > 0) vertx.setTimer(a.delayMs(), t -> reply.run());
      else reply.run();
    });
  }

  public int callsFor(String id) {
    AtomicInteger n = callsById.get(id);
    return n == null ? 0 : n.get();
  }

  public Map<String, AtomicInteger> callsById() {
    return callsById;
  }

  public List<Call> calls() {
    return calls;
  }

  public int peakConcurrency() {
    return peak.get();
  }

  @Override
  public void close() {
    vertx.close();
  }
}
