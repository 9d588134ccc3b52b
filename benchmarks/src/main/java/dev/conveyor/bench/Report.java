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

/** Writes a scenario's result as JSON, a Markdown table and a PNG (throughput over time, latency). */
final class Report {
  private Report() {}

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
    List<Double> sorted = new ArrayList<>(tput);
    sorted.sort(Double::compare);
    double median = sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
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

  /** The same with the charts' own words: the timeline's unit, the percentile chart's title and unit. */
  static void write(Path dir, String scenario, JsonObject result, String markdown, List<LoadGenerator.Run> runs, String perSecond,
      String percentiles, String percentileUnit) throws IOException {
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
    List<Chart<?, ?>> charts = List.of(timeline, latency);
    BitmapEncoder.saveBitmap(charts, 2, 1, dir.resolve(scenario + ".png").toString(), BitmapFormat.PNG);
  }
}
