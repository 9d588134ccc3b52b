package dev.conveyor.bench;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * {@code benchmarks/run.sh fairness}: tenant {@code steady} sends 50 async invocations a second and
 * we measure how long each waits in the queue (its 202 to its call reaching the function, both seen
 * by this process's clock), first alone (the baseline), then while tenant {@code flood} has
 * {@code flood} invocations queued ahead of it. Both tenants' functions take 20 ms; the replica has
 * 48 slots and each tenant may use 32, so the two contend for slots and the dispatcher's weighted
 * fair order, not a tenant limit alone, decides who starts next.
 */
final class Fairness {
  private static final String FLOOD_KEY = "flood-key";
  private static final String STEADY_KEY = "steady-key";
  private static final int RATE = 50;
  private static final int FUNCTION_MS = 20;

  private Fairness() {}

  static void run(int flood, int seconds, Path out) throws Exception {
    Path dir = Bench.workdir("conveyor-bench-fairness");
    int[] ports = EmbeddedKafka.freePorts(5);
    int fnPort = ports[3];
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, """
        server: { port: %d, adminPort: %d }
        kafka: { topicPrefix: "fair." }
        tenants:
        %s
        %s
        functions:
          - { namespace: flood, name: work, url: "http://127.0.0.1:%d/flood", concurrency: 64 }
          - { namespace: steady, name: work, url: "http://127.0.0.1:%d/steady", concurrency: 64 }
        dispatch: { enabled: true, maxInFlight: 48 }
        """.formatted(ports[1], ports[2], Bench.tenant("flood", FLOOD_KEY, 32), Bench.tenant("steady", STEADY_KEY, 32), fnPort, fnPort));
    Vertx vertx = Vertx.vertx();
    Map<String, Long> arrived = new ConcurrentHashMap<>();
    AtomicLong floodCalls = new AtomicLong();
    HttpServer fn = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      if (req.path().startsWith("/steady")) arrived.putIfAbsent(req.getHeader("x-conveyor-invocation-id"), System.nanoTime());
      else floodCalls.incrementAndGet();
      vertx.setTimer(FUNCTION_MS, t -> req.response().setStatusCode(200).end("{}"));
    }));
    fn.listen(fnPort).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    HttpClientAgent client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(ports[1]));
    List<LoadGenerator.Run> runs = new ArrayList<>();
    long floodAtStart;
    long floodAtEnd;
    double floodSeconds;
    System.err.printf("fairness: steady %d/s for %d s, alone and behind %d queued invocations of flood%n", RATE, seconds, flood);
    try (ChildProcess broker = Bench.broker(dir, ports[0], ports[4]);
         ChildProcess gateway = Bench.gateway(dir, "gateway", config, ports[0], ports[1], "dev.conveyor.engine.Main");
         LoadGenerator load = new LoadGenerator()) {
      steady(vertx, client, arrived, "warm-up", 0, 10); // JIT and connections, not reported
      runs.add(steady(vertx, client, arrived, "steady alone", 1, seconds));
      System.err.printf("queueing %d invocations of flood ...%n", flood);
      load.send(ports[1], "/v1/namespaces/flood/functions/work/invocations", FLOOD_KEY, Buffer.buffer("{}"), 64, flood, 202);
      floodAtStart = floodCalls.get();
      long t0 = System.nanoTime();
      LoadGenerator.Run during = steady(vertx, client, arrived, "steady during flood", 1, seconds);
      floodSeconds = (System.nanoTime() - t0) / 1e9;
      floodAtEnd = floodCalls.get();
      runs.add(during);
      runs.add(new LoadGenerator.Run("flood (calls/s)", 1, floodAtEnd - floodAtStart, 0, floodSeconds, new Histogram(3), List.of()));
      if (floodAtEnd >= flood) System.err.println("warning: flood's backlog ran out before steady's phase ended: raise --flood");
    } finally {
      vertx.close();
    }
    JsonObject alone = waits(runs.get(0));
    JsonObject contended = waits(runs.get(1));
    double floodRate = (floodAtEnd - floodAtStart) / floodSeconds;
    double ratio = contended.getDouble("p99Ms") / Math.max(0.001, alone.getDouble("p99Ms"));
    String command = "benchmarks/run.sh fairness --flood " + flood + " --seconds " + seconds;
    JsonObject result = new JsonObject().put("scenario", "fairness").put("when", Instant.now().toString()).put("command", command)
        .put("machine", Bench.machine()).put("steadyPerSecond", RATE).put("functionMs", FUNCTION_MS).put("floodQueued", flood)
        .put("steadyAlone", alone).put("steadyDuringFlood", contended).put("floodCallsPerSecond", Math.round(floodRate))
        .put("floodStillQueuedAtEnd", flood - floodAtEnd).put("ratioP99", Math.round(ratio * 100) / 100.0);
    String md = """
        | fairness (%s) | steady's queue wait p50 ms | p99 ms | max ms | invocations |
        |---|---:|---:|---:|---:|
        | steady alone, %d/s (baseline) | %.2f | %.2f | %.2f | %d |
        | steady, %d/s, behind %d queued invocations of flood | %.2f | %.2f | %.2f | %d |
        | **ratio p99 during flood / alone** | | **%.2f** | | |

        Flood ran at %.0f calls/s meanwhile (32 at a time × %d ms), %d of its invocations still queued at the end.
        `%s` on %s.
        """.formatted(result.getString("when"), RATE, alone.getDouble("p50Ms"), alone.getDouble("p99Ms"), alone.getDouble("maxMs"),
        alone.getLong("count"), RATE, flood, contended.getDouble("p50Ms"), contended.getDouble("p99Ms"), contended.getDouble("maxMs"),
        contended.getLong("count"), ratio, floodRate, FUNCTION_MS, flood - floodAtEnd, command, result.getString("machine"));
    Report.write(out, "fairness", result, md, runs, "steady's invocations reaching the function per second",
        "steady's queue wait (202 to the function), percentiles", "ms");
    System.out.println(md);
  }

  private static JsonObject waits(LoadGenerator.Run r) {
    Histogram h = r.latencyMicros();
    return new JsonObject().put("count", h.getTotalCount()).put("p50Ms", h.getValueAtPercentile(50) / 1000.0)
        .put("p99Ms", h.getValueAtPercentile(99) / 1000.0).put("maxMs", h.getMaxValue() / 1000.0);
  }

  /**
   * Sends steady's invocations at {@link #RATE} per second for {@code seconds}, then waits (at most
   * 60 s) for each to reach the function; the histogram holds each one's queue wait in microseconds.
   */
  private static LoadGenerator.Run steady(Vertx vertx, HttpClientAgent client, Map<String, Long> arrived, String name, int round,
      int seconds) throws Exception {
    Map<String, Long> accepted = new ConcurrentHashMap<>();
    AtomicLong failed = new AtomicLong();
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/namespaces/steady/functions/work/invocations")
        .putHeader("content-type", "application/json").putHeader("authorization", "Bearer " + STEADY_KEY);
    int total = RATE * seconds;
    AtomicLong sent = new AtomicLong();
    long timer = vertx.setPeriodic(1000 / RATE, id -> {
      if (sent.incrementAndGet() > total) return;
      client.request(opts).compose(req -> req.send("{}")).compose(resp -> resp.body().map(b -> resp.statusCode() == 202
          ? new JsonObject(b).getString("id") : null)).onComplete(ar -> {
            if (ar.succeeded() && ar.result() != null) accepted.put(ar.result(), System.nanoTime());
            else failed.incrementAndGet();
          });
    });
    long start = System.nanoTime();
    List<Long> perSecond = new ArrayList<>();
    long last = 0;
    long deadline = start + TimeUnit.SECONDS.toNanos(seconds + 60L);
    while (System.nanoTime() < deadline) {
      Thread.sleep(1000); // sampling progress once a second for the report's timeline
      long reached = accepted.keySet().stream().filter(arrived::containsKey).count();
      perSecond.add(reached - last);
      last = reached;
      if (sent.get() >= total && accepted.size() + failed.get() >= total && reached == accepted.size()) break;
    }
    vertx.cancelTimer(timer);
    Histogram h = new Histogram(3);
    for (Map.Entry<String, Long> e : accepted.entrySet()) {
      Long at = arrived.get(e.getKey());
      if (at != null) h.recordValue(Math.max(1, (at - e.getValue()) / 1000));
    }
    long missing = accepted.keySet().stream().filter(id -> !arrived.containsKey(id)).count();
    System.err.printf("%s: %d accepted, %d reached the function, %d failed; queue wait p50 %.2f ms p99 %.2f ms%n", name, accepted.size(),
        accepted.size() - missing, failed.get(), h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0);
    return new LoadGenerator.Run(name, round, accepted.size() - missing, failed.get() + missing, (System.nanoTime() - start) / 1e9, h,
        perSecond);
  }
}
