package dev.conveyor.bench;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;

/**
 * {@code benchmarks/run.sh sustained}: the highest rate one replica can take in and deliver for as
 * long as it is offered. One gateway accepts and delivers (dispatcher on) to a no-op function (the
 * bare server, its own JVM), driven open-loop ({@link LoadGenerator#open}) at a fixed offered rate:
 * a closed-loop generator slows down with the server and so never shows a backlog growing. A rate
 * holds when every request was accepted (202), the accept p99 (from each request's scheduled send)
 * is under {@link #MAX_P99_MS}, and once sending stops the gateway's completed count reaches its
 * accepted count within {@link #MAX_LAG_MS} (the backlog did not grow). The rates tried start at
 * {@code start} and rise by half each time until one fails, then bisect between the last that held
 * and the first that failed, within a time budget. The baseline is the bare server driven
 * open-loop at the sustained rate: the CPU per request the goal compares at the same offered load.
 */
final class Sustained {
  static final int MAX_P99_MS = 50;
  static final int MAX_LAG_MS = 2000;
  /** Seconds each step sends before it is measured: connections opened, the rate reached. */
  private static final int LEAD = 2;
  /** The warm-up's climb: seconds at a quarter and at a half of the start rate. */
  private static final int CLIMB_SECONDS = 20;
  /** The warm-up at the start rate goes on in these slices until the gateway's JIT settled. */
  private static final int SETTLE_SECONDS = 10;
  /** Settled: its compiler threads used less than this share of a core over a slice. */
  private static final double JIT_SETTLED = 0.05;
  private static final String ACCEPTED = "conveyor_invocations_accepted_total{";
  private static final String COMPLETED = "conveyor_invocations_completed_total{";
  private static final String[] COUNTERS = {"conveyor_invocations_accepted_total", "conveyor_invocations_completed_total"};

  private Sustained() {}

  /** One offered rate tried: what was accepted and delivered, the latency, the backlog, the CPU, and whether it held. */
  record Step(int offered, LoadGenerator.Run run, double deliveredPerSecond, double backlogGrowthPerSecond, long deliveredWithinMs,
      Map<String, Double> cpu, double gatewayJit, boolean held, String why) {
    JsonObject json() {
      return new JsonObject().put("offeredPerSecond", offered).put("acceptedPerSecond", Math.round(run.throughput()))
          .put("deliveredPerSecond", Math.round(deliveredPerSecond)).put("p50Ms", ms(run, 50)).put("p99Ms", ms(run, 99))
          .put("p999Ms", ms(run, 99.9)).put("failed", run.failed())
          .put("backlogGrowthPerSecond", Math.round(backlogGrowthPerSecond * 10) / 10.0)
          .put("deliveredWithinMs", deliveredWithinMs < 0 ? null : deliveredWithinMs).put("cpuMsPer1000", new JsonObject(
              new java.util.LinkedHashMap<>(cpu))).put("gatewayJitCpuMsPer1000", gatewayJit).put("held", held).put("why", why);
    }
  }

  static void run(int start, int seconds, int warmup, int budget, int connections, Path out) throws Exception {
    Path dir = Bench.workdir("conveyor-bench-sustained");
    int[] ports = EmbeddedKafka.freePorts(5);
    int barePort = ports[3];
    int adminPort = ports[2];
    Path config = Bench.gatewayConfig(dir, "gateway", ports[1], adminPort, 0, "http://127.0.0.1:" + barePort + "/noop", true,
        "sustained.");
    List<Step> steps = new ArrayList<>();
    Step baseline;
    int sustained = 0;
    System.err.printf("sustained: open loop from %d/s, %d s steps (+%d s lead), %d connections, within %d s%n", start, seconds, LEAD,
        connections, budget);
    try (ChildProcess broker = Bench.broker(dir, ports[0], ports[4]);
         ChildProcess bare = ChildProcess.java("function", "512m", Map.of(), dir.resolve("function.log"), "dev.conveyor.bench.BareServer",
             Integer.toString(barePort)).awaitPort(barePort, 60);
         ChildProcess gateway = Bench.gateway(dir, "gateway", config, ports[0], ports[1], "dev.conveyor.engine.Main");
         LoadGenerator load = new LoadGenerator()) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(budget);
      long stepNanos = TimeUnit.SECONDS.toNanos(LEAD + seconds + MAX_LAG_MS / 1000 + 1);
      // The warm-up climbs to the start rate (a quarter, then a half of it, 20 s each): a gateway just
      // started runs interpreted, and the start rate at once piles up a backlog that the first step
      // would wait for. Then the start rate, 10 s at a time, until the gateway's JIT compiler threads
      // used under 5% of a core over the last 10 s, or --warmup seconds in all: on 2 busy cores a
      // gateway keeps compiling for two minutes or more, and a step measured meanwhile measures that.
      Cpu meter = Cpu.of(gateway, Map.of(Cpu.BROKER, broker, Cpu.FUNCTION, bare));
      long warmEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmup);
      // The warm-up reads the two counters once a second as a step does: a first scrape under load
      // made the JIT recompile for a third of a core through the first step.
      LoadGenerator.Tick scrape = n -> Bench.scrape(adminPort, COUNTERS);
      for (int part = 4; part >= 2; part /= 2) {
        System.err.printf("warm-up: %d/s for %d s ...%n", start / part, CLIMB_SECONDS);
        load.open("warm-up", 0, ports[1], Bench.PATH, Bench.KEY, Bench.BODY, start / part, 0, CLIMB_SECONDS, connections, 202,
            scrape);
      }
      while (System.nanoTime() < warmEnd) {
        Cpu.Mark before = meter.mark();
        load.open("warm-up", 0, ports[1], Bench.PATH, Bench.KEY, Bench.BODY, start, 0, SETTLE_SECONDS, connections, 202, scrape);
        double jitShare = (meter.mark().serverJitSeconds() - before.serverJitSeconds()) / SETTLE_SECONDS;
        System.err.printf("warm-up: %d/s for %d s, the gateway's JIT used %.0f%% of a core%n", start, SETTLE_SECONDS, jitShare * 100);
        if (jitShare < JIT_SETTLED) break;
      }
      int held = 0;
      int failed = Integer.MAX_VALUE;
      int rate = start;
      // Each step, and the baseline's after the search, must fit in what is left of the budget.
      while (System.nanoTime() + 2 * stepNanos < deadline) {
        Step s = step(load, meter, ports[1], adminPort, rate, seconds, connections);
        steps.add(s);
        System.err.printf("%6d/s offered: accepted %.0f/s delivered %.0f/s  p50 %.2f ms p99 %.2f ms  failed %d  backlog %+.0f/s  "
                + "delivered within %s  CPU ms per 1k: %s (gateway's JIT %.0f)  %s%n", rate, s.run().throughput(), s.deliveredPerSecond(), ms(s.run(), 50),
            ms(s.run(), 99), s.run().failed(), s.backlogGrowthPerSecond(), s.deliveredWithinMs() < 0 ? "-" : s.deliveredWithinMs() + " ms",
            Cpu.format(s.cpu()), s.gatewayJit(), s.held() ? "held" : "NOT HELD: " + s.why());
        if (s.held()) held = Math.max(held, rate);
        else failed = Math.min(failed, rate);
        int next;
        if (failed == Integer.MAX_VALUE) next = rate * 3 / 2; // none failed yet: up by half
        else if (held == 0) next = rate / 2; // the first failed: down by half until one holds
        else if (failed - held <= Math.max(100, held / 20)) break; // bisected to 5%
        else next = (held + failed) / 2;
        rate = (int) Math.max(100, Math.round(next / 100.0) * 100);
        if (rate == held || rate == failed) break;
      }
      sustained = held;
      // The baseline at the same offered load: the bare server's CPU per request at the sustained rate
      // (or, when none held, the lowest rate tried).
      int baseRate = held > 0 ? held : steps.stream().mapToInt(Step::offered).min().orElse(start);
      Cpu direct = Cpu.of(bare, Map.of(Cpu.BROKER, broker));
      Cpu.Mark[] from = new Cpu.Mark[1];
      LoadGenerator.Run run = load.open("baseline", 1, barePort, "/noop", Bench.KEY, Bench.BODY, baseRate, LEAD, seconds, connections,
          202, n -> {
            if (n == LEAD) from[0] = direct.mark();
          });
      Map<String, Double> cpu = direct.per1k(from[0], direct.mark(), run.ok());
      baseline = new Step(baseRate, run, 0, 0, -1, cpu, 0, run.failed() == 0, "");
      System.err.printf("baseline %d/s: p50 %.2f ms p99 %.2f ms  CPU ms per 1k: %s%n", baseRate, ms(run, 50), ms(run, 99),
          Cpu.format(cpu));
    }
    report(steps, baseline, sustained, start, seconds, warmup, budget, connections, out);
  }

  /**
   * One offered rate: first waits for the previous step's backlog to be delivered (bounded), sends
   * for {@link #LEAD} + {@code seconds}, reads the gateway's accepted and completed counts every
   * measured second, then waits up to {@link #MAX_LAG_MS} for the completed count to reach the
   * accepted one. The CPU is read from the measured window's start to that point.
   */
  private static Step step(LoadGenerator load, Cpu meter, int port, int adminPort, int rate, int seconds, int connections)
      throws Exception {
    long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (backlog(Bench.scrape(adminPort, COUNTERS)) > 0 && System.nanoTime() < waitUntil) {
      Thread.sleep(100); // polling the gateway's counters between steps, outside any measurement
    }
    long leftOver = backlog(Bench.scrape(adminPort, COUNTERS));
    List<long[]> samples = new ArrayList<>(); // second of the window, accepted, completed
    Cpu.Mark[] from = new Cpu.Mark[1];
    LoadGenerator.Run run = load.open("gateway", rate, port, Bench.PATH, Bench.KEY, Bench.BODY, rate, LEAD, seconds, connections, 202,
        n -> {
          if (n == LEAD) from[0] = meter.mark();
          if (n < LEAD) return;
          String m = Bench.scrape(adminPort, COUNTERS); // once a second, the two counters only (their cost is counted)
          samples.add(new long[] {n - LEAD, Bench.sum(m, ACCEPTED), Bench.sum(m, COMPLETED)});
        });
    long sent = System.nanoTime();
    long within = -1;
    while (true) {
      long elapsed = System.nanoTime() - sent;
      if (backlog(Bench.scrape(adminPort, COUNTERS)) <= 0) {
        within = TimeUnit.NANOSECONDS.toMillis(elapsed);
        break;
      }
      if (elapsed > TimeUnit.MILLISECONDS.toNanos(MAX_LAG_MS)) break;
      Thread.sleep(20); // polling the gateway's completed count for the deadline (20 ms: its resolution)
    }
    Cpu.Mark to = meter.mark();
    Map<String, Double> cpu = meter.per1k(from[0] == null ? to : from[0], to, run.ok());
    double delivered = 0;
    if (samples.size() >= 2) {
      long[] first = samples.get(0);
      long[] last = samples.get(samples.size() - 1);
      delivered = (last[2] - first[2]) / (double) Math.max(1, last[0] - first[0]);
    }
    double p99 = ms(run, 99);
    List<String> why = new ArrayList<>();
    if (run.failed() > 0) why.add(run.failed() + " not accepted");
    if (p99 >= MAX_P99_MS) why.add("accept p99 %.0f ms ≥ %d".formatted(p99, MAX_P99_MS));
    if (within < 0) why.add("not all delivered within %d ms".formatted(MAX_LAG_MS) + (leftOver > 0 ? " (" + leftOver
        + " left from before)" : ""));
    double jit = meter.serverJitPer1k(from[0] == null ? to : from[0], to, run.ok());
    return new Step(rate, run, delivered, growth(samples), within, cpu, jit, why.isEmpty(), String.join("; ", why));
  }

  /** Accepted but not completed, by the gateway's own counters. */
  private static long backlog(String metrics) {
    return Bench.sum(metrics, ACCEPTED) - Bench.sum(metrics, COMPLETED);
  }

  /** The backlog's growth per second over the measured window: the least-squares slope of accepted − completed. */
  private static double growth(List<long[]> samples) {
    int n = samples.size();
    if (n < 2) return 0;
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    for (long[] s : samples) {
      double x = s[0];
      double y = s[1] - s[2];
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    double d = n * sxx - sx * sx;
    return d == 0 ? 0 : (n * sxy - sx * sy) / d;
  }

  static double ms(LoadGenerator.Run run, double percentile) {
    return run.latencyMicros().getValueAtPercentile(percentile) / 1000.0;
  }

  private static void report(List<Step> steps, Step baseline, int sustained, int start, int seconds, int warmup, int budget,
      int connections, Path out) throws Exception {
    Step at = steps.stream().filter(s -> s.held() && s.offered() == sustained).findFirst().orElse(null);
    JsonObject base = summary("baseline", baseline);
    JsonObject gw = at == null ? null : summary("gateway", at).put("deliveredPerSecond", Math.round(at.deliveredPerSecond()));
    Double cpuRatio = gw == null ? null : Report.cpuRatio(gw, base);
    String command = "benchmarks/run.sh sustained --start " + start + " --seconds " + seconds + " --warmup " + warmup + " --budget "
        + budget + " --connections " + connections;
    JsonObject result = new JsonObject().put("scenario", "sustained").put("when", Instant.now().toString()).put("command", command)
        .put("machine", Bench.machine()).put("connections", connections)
        .put("criteria", new JsonObject().put("maxAcceptP99Ms", MAX_P99_MS).put("deliveredWithinMs", MAX_LAG_MS))
        .put("sustainedPerSecond", sustained).put("baseline", base).put("gateway", gw).put("cpuRatio", cpuRatio)
        .put("steps", new JsonArray(steps.stream().map(Step::json).toList()));
    List<JsonObject> both = gw == null ? List.of(base) : List.of(base, gw);
    List<String> procs = Report.processes(both);
    StringBuilder md = new StringBuilder(Bench.header("sustained, open loop, %d connections (%s)".formatted(connections,
        result.getString("when")), "accepted/s at the sustained rate", procs));
    md.append(Bench.row("bare Vert.x 202, open loop at the same rate (baseline)", base, procs));
    md.append(gw == null ? "| Conveyor accepting and delivering: no rate tried held | | | | | |%s%n".formatted(
        Report.cpuRatioCells("", procs)) : Bench.row("Conveyor accepting and delivering, at its sustained rate", gw, procs));
    md.append(Bench.cpuRatioRow("**CPU per invocation, gateway / baseline** (goal ≤ 2.0)", cpuRatio, procs));
    md.append("\n**Sustained: %s** offered (every request accepted, accept p99 < %d ms, all delivered within %d ms of the "
        .formatted(sustained > 0 ? "%,d/s".formatted(sustained) : "none of the rates tried", MAX_P99_MS, MAX_LAG_MS)
        + "last request).\n\n");
    md.append("| step | offered/s | accepted/s | delivered/s | p50 ms | p99 ms | backlog growth /s | all delivered within ms |")
        .append(Report.cpuHeader(List.of(Cpu.SERVER))).append(" of which its JIT |")
        .append(Report.cpuHeader(List.of(Cpu.BROKER, Cpu.FUNCTION)).replace(" CPU ms/1k:", "")).append(" |\n")
        .append("|---:|---:|---:|---:|---:|---:|---:|---:|").append(Report.cpuAlign(List.of(Cpu.SERVER, Cpu.SERVER, Cpu.BROKER,
            Cpu.FUNCTION))).append("---|\n");
    int i = 1;
    for (Step s : steps) {
      JsonObject server = new JsonObject(new java.util.LinkedHashMap<>(s.cpu()));
      md.append("| %d | %d | %.0f | %.0f | %.2f | %.2f | %+.0f | %s | %.0f | %.0f | %.0f | %.0f | %s |%n".formatted(i++, s.offered(),
          s.run().throughput(), s.deliveredPerSecond(), ms(s.run(), 50), ms(s.run(), 99), s.backlogGrowthPerSecond(),
          s.deliveredWithinMs() < 0 ? "-" : Long.toString(s.deliveredWithinMs()), server.getDouble(Cpu.SERVER, 0.0), s.gatewayJit(),
          server.getDouble(Cpu.BROKER, 0.0), server.getDouble(Cpu.FUNCTION, 0.0), s.held() ? "held" : "not held: " + s.why()));
    }
    md.append("\nEach step: %d s at the rate (not measured), then %d s measured; latency from each request's scheduled send. "
        .formatted(LEAD, seconds) + Bench.CPU_NOTE.replace("(median of rounds, from /proc)", "(from /proc)")
        + " In the steps, server under test is the gateway; of which its JIT: what its JIT compiler threads spent (on 2 busy cores a"
        + " gateway keeps compiling for minutes; the warm-up goes on until its JIT used under 5% of a core over 10 s, or --warmup s).\n`" + command + "` on " + result.getString("machine") + ".\n");
    Files.createDirectories(out);
    Files.writeString(out.resolve("sustained.json"), result.encodePrettily() + "\n");
    Files.writeString(out.resolve("sustained.md"), md);
    XYChart p99 = new XYChartBuilder().width(900).height(420).title("sustained: accept p99 by offered rate")
        .xAxisTitle("offered requests/s").yAxisTitle("accept p99 ms (log)").build();
    p99.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter).setYAxisLogarithmic(true).setMarkerSize(10);
    XYChart backlog = new XYChartBuilder().width(900).height(420).title("sustained: backlog growth by offered rate")
        .xAxisTitle("offered requests/s").yAxisTitle("accepted − delivered, change per second").build();
    backlog.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter).setMarkerSize(10);
    for (boolean held : new boolean[] {true, false}) {
      List<Step> these = steps.stream().filter(s -> s.held() == held).toList();
      if (these.isEmpty()) continue;
      String name = held ? "held" : "not held";
      p99.addSeries(name, these.stream().map(s -> (double) s.offered()).toList(), these.stream().map(s -> Math.max(0.01, ms(s.run(), 99)))
          .toList());
      backlog.addSeries(name, these.stream().map(s -> (double) s.offered()).toList(), these.stream()
          .map(Step::backlogGrowthPerSecond).toList());
    }
    if (!steps.isEmpty()) {
      double lo = steps.stream().mapToInt(Step::offered).min().orElse(0);
      double hi = steps.stream().mapToInt(Step::offered).max().orElse(0);
      p99.addSeries("p99 bound (" + MAX_P99_MS + " ms)", List.of(lo, hi), List.of((double) MAX_P99_MS, (double) MAX_P99_MS))
          .setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
    }
    List<Chart<?, ?>> charts = new ArrayList<>(List.of(p99, backlog));
    charts.add(Report.cpuChartTitled("sustained: CPU ms per 1,000 requests by process, at the sustained rate", both));
    BitmapEncoder.saveBitmap(charts, charts.size(), 1, out.resolve("sustained.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    System.out.println(md);
  }

  /** A step as the other scenarios' target summary: throughput (the accepted rate), latency, failures, CPU. */
  private static JsonObject summary(String target, Step s) {
    return Report.summary(List.of(s.run()), List.of(new Cpu.Sample(target, 1, s.cpu())), target).put("target", target)
        .put("offeredPerSecond", s.offered());
  }
}
