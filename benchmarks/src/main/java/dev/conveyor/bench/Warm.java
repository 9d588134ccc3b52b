package dev.conveyor.bench;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;

/**
 * {@code benchmarks/run.sh warm}: what a replica just started can take. A fresh accept-only gateway
 * process starts; its admin {@code /readyz} is polled until it answers 200, and from that instant it
 * is driven closed-loop ({@code connections}) for {@code seconds}, throughput and each process's CPU
 * read every second. Reported: the time from the process's start to ready, and the throughput of
 * the first 10 s after ready as a fraction of the steady rate (the mean of the last third: seconds
 * 41-60 of 60). A new replica behind a load balancer gets its share of traffic once ready, so a
 * replica that is ready long before its code is compiled is slow (and late) while it warms. The
 * broker and this generator are warmed first by a throwaway gateway on other topics, so what is
 * measured is the fresh gateway's warm-up alone.
 */
final class Warm {
  static final double GOAL = 0.7;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(200)).build();

  private Warm() {}

  /** Seconds [from, to) of the run (0-based: second 0 is the first after ready): requests/s and CPU per 1,000 over them. */
  private record Window(String name, int from, int to, double perSecond, Map<String, Double> cpu) {
    JsonObject json() {
      return new JsonObject().put("seconds", (from + 1) + "-" + to).put("perSecond", Math.round(perSecond))
          .put("cpuMsPer1000", new JsonObject(new LinkedHashMap<>(cpu)));
    }
  }

  static void run(int connections, int seconds, int prewarm, Path out) throws Exception {
    Path dir = Bench.workdir("conveyor-bench-warm");
    int[] ports = EmbeddedKafka.freePorts(6);
    int port = ports[1];
    int adminPort = ports[2];
    Path config = Bench.gatewayConfig(dir, "gateway", port, adminPort, 0, "http://127.0.0.1:1/noop", false, "warm.");
    Path prewarmConfig = Bench.gatewayConfig(dir, "prewarm", ports[3], ports[4], 0, "http://127.0.0.1:1/noop", false, "prewarm.");
    LoadGenerator.Run run;
    List<Cpu.Mark> marks = new ArrayList<>(); // at ready, then at each second's end
    Cpu meter;
    double readyMs;
    System.err.printf("warm: a fresh gateway, %d connections from /readyz 200 for %d s (broker and generator warmed %d s first)%n",
        connections, seconds, prewarm);
    try (ChildProcess broker = Bench.broker(dir, ports[0], ports[5]);
         LoadGenerator load = new LoadGenerator()) {
      if (prewarm > 0) {
        try (ChildProcess throwaway = Bench.gateway(dir, "prewarm", prewarmConfig, ports[0], ports[3], "dev.conveyor.engine.Main")) {
          awaitReady(throwaway, ports[4], System.nanoTime());
          System.err.printf("warming the broker and the generator: %.0f req/s%n",
              load.run("prewarm", 0, ports[3], Bench.PATH, Bench.KEY, Bench.BODY, connections, prewarm, 202).throughput());
        }
      }
      long started = System.nanoTime();
      try (ChildProcess gateway = Bench.startGateway(dir, "gateway", config, ports[0], "dev.conveyor.engine.Main", Map.of())) {
        readyMs = awaitReady(gateway, adminPort, started);
        meter = Cpu.of(gateway, Map.of(Cpu.BROKER, broker));
        marks.add(meter.mark());
        run = load.run("gateway", 1, port, Bench.PATH, Bench.KEY, Bench.BODY, connections, seconds, 202, n -> marks.add(meter.mark()));
        System.err.printf("ready after %.0f ms; %s%n", readyMs, run.perSecond());
      }
    }
    List<Long> perSecond = run.perSecond();
    int n = Math.min(perSecond.size(), marks.size() - 1);
    Window first = window(meter, "first", 0, Math.max(1, Math.min(10, n / 3)), perSecond, marks);
    Window steady = window(meter, "steady", n * 2 / 3, n, perSecond, marks);
    double fraction = steady.perSecond() == 0 ? 0 : first.perSecond() / steady.perSecond();
    String command = "benchmarks/run.sh warm --connections " + connections + " --seconds " + seconds + " --prewarm " + prewarm;
    JsonObject latency = Report.summary(List.of(run), "gateway");
    JsonObject result = new JsonObject().put("scenario", "warm").put("when", Instant.now().toString()).put("command", command)
        .put("machine", Bench.machine()).put("connections", connections).put("readyAfterMs", Math.round(readyMs))
        .put("perSecondSinceReady", new JsonArray(perSecond)).put("first", first.json()).put("steady", steady.json())
        .put("fraction", Math.round(fraction * 1000) / 1000.0).put("goal", GOAL).put("met", fraction >= GOAL)
        .put("p50Ms", latency.getDouble("p50Ms")).put("p99Ms", latency.getDouble("p99Ms")).put("p999Ms", latency.getDouble("p999Ms"))
        .put("failed", run.failed())
        .put("cpuMsEachSecond", new JsonObject(new LinkedHashMap<>(cpuEachSecond(meter, marks, n))));
    List<String> procs = new ArrayList<>(steady.cpu().keySet());
    Double server0 = first.cpu().get(Cpu.SERVER);
    Double server1 = steady.cpu().get(Cpu.SERVER);
    String md = "| warm, %d connections (%s) | requests/s (mean) |%s%n|---|---:|%s%n".formatted(connections, result.getString("when"),
        Report.cpuHeader(procs), Report.cpuAlign(procs))
        + "| first %d s after /readyz 200 (seconds %d-%d) | %.0f |%s%n".formatted(first.to(), first.from() + 1, first.to(),
            first.perSecond(), cells(first.cpu(), procs))
        + "| steady (seconds %d-%d) | %.0f |%s%n".formatted(steady.from() + 1, steady.to(), steady.perSecond(), cells(steady.cpu(), procs))
        + "| **first / steady** (goal ≥ %.1f) | **%.2f** |%s%n".formatted(GOAL, fraction, Report.cpuRatioCells(
            server1 == null || server1 == 0 ? "-" : "%.2f".formatted(server0 / server1), procs))
        + "\nReady (`/readyz` 200) **%.0f ms** after the gateway process started. Whole run: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
            .formatted(readyMs, latency.getDouble("p50Ms"), latency.getDouble("p99Ms"), latency.getDouble("p999Ms"))
        + "%d failed. CPU ms/1k: the CPU each process spent per 1,000 requests over the window, from /proc; the ratio row's is the "
            .formatted(run.failed())
        + "gateway's first over steady.%s\n`%s` on %s.\n".formatted(prewarm > 0 ? " The broker and this generator were warmed first for "
            + prewarm + " s by a throwaway gateway on other topics." : "", command, result.getString("machine"));
    Files.createDirectories(out);
    Files.writeString(out.resolve("warm.json"), result.encodePrettily() + "\n");
    Files.writeString(out.resolve("warm.md"), md);
    XYChart tput = new XYChartBuilder().width(900).height(420).title("warm: requests/s each second since /readyz answered 200")
        .xAxisTitle("second since ready").yAxisTitle("requests/s").build();
    List<Integer> xs = new ArrayList<>();
    for (int i = 1; i <= perSecond.size(); i++) xs.add(i);
    tput.addSeries("fresh gateway", xs, perSecond);
    tput.addSeries("steady (mean of seconds %d-%d)".formatted(steady.from() + 1, steady.to()), List.of(1, Math.max(1, n)),
        List.of(steady.perSecond(), steady.perSecond()));
    tput.addSeries("%.1f of steady (the goal for the first %d s)".formatted(GOAL, first.to()), List.of(1, first.to()),
        List.of(GOAL * steady.perSecond(), GOAL * steady.perSecond()));
    // CPU each second, not per 1,000 requests: in the first seconds there are few requests, and what a
    // process spends then (the JIT compiling) is the point
    XYChart cpu = new XYChartBuilder().width(900).height(420).title("warm: CPU ms used each second (2,000 = both cores)")
        .xAxisTitle("second since ready").yAxisTitle("CPU ms").build();
    List<Integer> cx = new ArrayList<>();
    for (int i = 1; i <= n; i++) cx.add(i);
    if (n > 0) {
      for (Map.Entry<String, List<Double>> e : cpuEachSecond(meter, marks, n).entrySet()) {
        cpu.addSeries(Report.label(e.getKey()), cx, e.getValue());
      }
    }
    List<Chart<?, ?>> charts = List.of(tput, cpu);
    BitmapEncoder.saveBitmap(charts, 2, 1, out.resolve("warm.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    System.out.println(md);
  }

  /** Each process's CPU ms in each of the first {@code n} seconds since ready. */
  private static Map<String, List<Double>> cpuEachSecond(Cpu meter, List<Cpu.Mark> marks, int n) {
    Map<String, List<Double>> each = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      // per 1,000 of 1,000 requests: the CPU ms themselves
      meter.per1k(marks.get(i), marks.get(i + 1), 1000).forEach((role, ms) -> each.computeIfAbsent(role, r -> new ArrayList<>()).add(ms));
    }
    return each;
  }

  private static Window window(Cpu meter, String name, int from, int to, List<Long> perSecond, List<Cpu.Mark> marks) {
    long count = 0;
    for (int i = from; i < to; i++) count += perSecond.get(i);
    return new Window(name, from, to, count / (double) Math.max(1, to - from), meter.per1k(marks.get(from), marks.get(to), count));
  }

  private static String cells(Map<String, Double> cpu, List<String> procs) {
    StringBuilder c = new StringBuilder();
    for (String role : procs) c.append(cpu.containsKey(role) ? " %.0f |".formatted(cpu.get(role)) : " - |");
    return c.toString();
  }

  /**
   * Polls {@code /readyz} every 10 ms until it answers 200 (bounded: 120 s); the milliseconds since
   * {@code started}. Polling during start-up, before anything is measured: the instant it answers
   * is where the measurement starts.
   */
  private static double awaitReady(ChildProcess gateway, int adminPort, long started) throws Exception {
    HttpRequest readyz = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/readyz")).timeout(Duration.ofSeconds(2))
        .build();
    long deadline = started + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      if (!gateway.alive()) throw new IllegalStateException("the gateway exited before it was ready");
      try {
        if (HTTP.send(readyz, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) return (System.nanoTime() - started) / 1e6;
      } catch (java.io.IOException e) {
        // not listening yet
      }
      Thread.sleep(10);
    }
    throw new IllegalStateException("the gateway was not ready within 120 s");
  }
}
