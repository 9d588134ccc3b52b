package dev.conveyor.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;

/**
 * Writes a scenario's result as JSON, a Markdown table and a PNG (throughput over time, latency,
 * and the CPU each process spent per 1,000 requests where it was measured).
 */
final class Report {
  private Report() {}

  /**
   * A target's summary with, besides throughput and latency, {@code cpuMsPer1000}: the median over
   * its rounds of each process's CPU ms per 1,000 requests (as the throughput is the median round),
   * and {@code cpuMsPer1000Rounds}, every round's.
   */
  static JsonObject summary(List<LoadGenerator.Run> runs, List<Cpu.Sample> cpu, String target) {
    JsonObject s = summary(runs, target);
    JsonObject median = new JsonObject();
    JsonObject rounds = new JsonObject();
    for (String role : Cpu.ORDER) {
      List<Double> v = cpu.stream().filter(c -> c.target().equals(target) && c.msPer1k().containsKey(role))
          .map(c -> c.msPer1k().get(role)).toList();
      if (v.isEmpty()) continue;
      median.put(role, median(v));
      rounds.put(role, new JsonArray(v));
    }
    return s.put("cpuMsPer1000", median).put("cpuMsPer1000Rounds", rounds);
  }

  static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(Double::compare);
    return sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
  }

  /**
   * The goal's figure: the server under test's CPU per request over the baseline server's, both
   * medians of the same run (null when either was not measured).
   */
  static Double cpuRatio(JsonObject gateway, JsonObject baseline) {
    Double gw = cpuOf(gateway, Cpu.SERVER);
    Double base = cpuOf(baseline, Cpu.SERVER);
    return gw == null || base == null || base == 0 ? null : Math.round(gw / base * 100) / 100.0;
  }

  private static Double cpuOf(JsonObject summary, String role) {
    JsonObject cpu = summary.getJsonObject("cpuMsPer1000");
    return cpu == null ? null : cpu.getDouble(role);
  }

  /** The processes any of {@code summaries} measured, in the reports' column order. */
  static List<String> processes(List<JsonObject> summaries) {
    return Cpu.ORDER.stream().filter(role -> summaries.stream().anyMatch(s -> cpuOf(s, role) != null)).toList();
  }

  /** The CPU columns' headers: {@code | CPU ms/1k: server | broker | load |} ({@code |} and the alignment row's cells). */
  static String cpuHeader(List<String> processes) {
    StringBuilder h = new StringBuilder();
    for (int i = 0; i < processes.size(); i++) h.append(i == 0 ? " CPU ms/1k: " : " ").append(label(processes.get(i))).append(" |");
    return h.toString();
  }

  static String cpuAlign(List<String> processes) {
    return "---:|".repeat(processes.size());
  }

  /** A row's CPU cells ({@code -} for a process not measured for it: the function called directly is the server). */
  static String cpuCells(JsonObject summary, List<String> processes) {
    StringBuilder c = new StringBuilder();
    for (String role : processes) {
      Double ms = cpuOf(summary, role);
      c.append(ms == null ? " - |" : " %.0f |".formatted(ms));
    }
    return c.toString();
  }

  /** Empty cells for the CPU columns but the server's, which holds {@code serverCell}. */
  static String cpuRatioCells(String serverCell, List<String> processes) {
    StringBuilder c = new StringBuilder();
    for (String role : processes) c.append(role.equals(Cpu.SERVER) && !serverCell.isEmpty() ? " " + serverCell + " |" : " |");
    return c.toString();
  }

  static String label(String role) {
    return switch (role) {
      case Cpu.SERVER -> "server under test";
      case Cpu.LOAD -> "load generator";
      default -> role;
    };
  }

  static JsonObject summary(List<LoadGenerator.Run> runs, String target) {
    Histogram merged = new Histogram(3);
    List<Double> tput = new ArrayList<>();
    long failed = 0;
    for (LoadGenerator.Run r : runs) {
      if (!r.target().equals(target)) continue;
      merged.add(r.latencyMicros());
      tput.add(r.throughput());
      failed += r.failed();
    }
    double median = median(tput);
    return new JsonObject()
        .put("target", target)
        .put("roundsPerSecond", new JsonArray(tput.stream().map(d -> Math.round(d)).toList()))
        .put("medianPerSecond", Math.round(median))
        .put("failed", failed)
        .put("p50Ms", merged.getValueAtPercentile(50) / 1000.0)
        .put("p99Ms", merged.getValueAtPercentile(99) / 1000.0)
        .put("p999Ms", merged.getValueAtPercentile(99.9) / 1000.0);
  }

  static void write(Path dir, String scenario, JsonObject result, String markdown, List<LoadGenerator.Run> runs) throws IOException {
    write(dir, scenario, result, markdown, runs, "requests/s", "latency percentiles (all rounds)", "ms");
  }

  /** The same with a third chart: the CPU per 1,000 requests of each summary's target, by process. */
  static void write(Path dir, String scenario, JsonObject result, String markdown, List<LoadGenerator.Run> runs,
      List<JsonObject> summaries) throws IOException {
    write(dir, scenario, result, markdown, runs, "requests/s", "latency percentiles (all rounds)", "ms", summaries);
  }

  /** The same with the charts' own words: the timeline's unit, the percentile chart's title and unit. */
  static void write(Path dir, String scenario, JsonObject result, String markdown, List<LoadGenerator.Run> runs, String perSecond,
      String percentiles, String percentileUnit) throws IOException {
    write(dir, scenario, result, markdown, runs, perSecond, percentiles, percentileUnit, List.of());
  }

  static void write(Path dir, String scenario, JsonObject result, String markdown, List<LoadGenerator.Run> runs, String perSecond,
      String percentiles, String percentileUnit, List<JsonObject> summaries) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve(scenario + ".json"), result.encodePrettily() + "\n");
    Files.writeString(dir.resolve(scenario + ".md"), markdown);

    XYChart timeline = new XYChartBuilder().width(900).height(420).title(scenario + ": throughput per second, each round")
        .xAxisTitle("second of round").yAxisTitle(perSecond).build();
    for (LoadGenerator.Run r : runs) {
      if (r.perSecond().isEmpty()) continue;
      List<Integer> x = new ArrayList<>();
      List<Long> y = new ArrayList<>();
      for (int i = 0; i < r.perSecond().size(); i++) {
        x.add(i + 1);
        y.add(r.perSecond().get(i));
      }
      timeline.addSeries(r.target() + " #" + r.round(), x, y);
    }
    CategoryChart latency = new CategoryChartBuilder().width(900).height(420).title(scenario + ": " + percentiles)
        .xAxisTitle("percentile").yAxisTitle(percentileUnit).build();
    List<String> pct = List.of("p50", "p90", "p99", "p99.9");
    double[] ps = {50, 90, 99, 99.9};
    for (String target : runs.stream().filter(r -> r.latencyMicros().getTotalCount() > 0).map(LoadGenerator.Run::target).distinct()
        .toList()) { // runs without latencies (a drain, a count) have no bars
      Histogram h = new Histogram(3);
      runs.stream().filter(r -> r.target().equals(target)).forEach(r -> h.add(r.latencyMicros()));
      List<Double> v = new ArrayList<>();
      for (double p : ps) v.add(h.getValueAtPercentile(p) / 1000.0);
      latency.addSeries(target, pct, v);
    }
    List<Chart<?, ?>> charts = new ArrayList<>(List.of(timeline, latency));
    if (!processes(summaries).isEmpty()) charts.add(cpuChart(scenario, summaries));
    BitmapEncoder.saveBitmap(charts, charts.size(), 1, dir.resolve(scenario + ".png").toString(), BitmapFormat.PNG);
  }

  /**
   * CPU ms per 1,000 requests, a bar per target stacked by process: the bar's height is what a
   * request costs the whole machine, the server's part what the goal compares.
   */
  static CategoryChart cpuChart(String scenario, List<JsonObject> summaries) {
    return cpuChartTitled(scenario + ": CPU ms per 1,000 requests by process (median of rounds)", summaries);
  }

  static CategoryChart cpuChartTitled(String title, List<JsonObject> summaries) {
    CategoryChart chart = new CategoryChartBuilder().width(900).height(420).title(title).xAxisTitle("target").yAxisTitle("CPU ms")
        .build();
    chart.getStyler().setStacked(true);
    List<String> targets = summaries.stream().map(s -> s.getString("target")).toList();
    for (String role : processes(summaries)) {
      chart.addSeries(label(role), targets, summaries.stream().map(s -> {
        Double ms = cpuOf(s, role);
        return ms == null ? 0.0 : ms; // the function called directly is the server: counted there
      }).toList());
    }
    return chart;
  }
}
