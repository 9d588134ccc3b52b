package dev.conveyor.bench;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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

/**
 * {@code benchmarks/run.sh backlog}: one gateway with a 512 MB heap, default config, accepts
 * {@code count} invocations as fast as the load generator sends them while it delivers them to the
 * no-op function, so a backlog of hundreds of thousands builds and drains. Every second the heap in
 * use is read from /metrics; at each tenth of the invocations completed a full GC is forced (jcmd)
 * and the live heap read: what the gateway keeps must not grow with the invocations it has seen.
 */
final class Backlog {
  private Backlog() {}

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  static void run(int count, Path out) throws Exception {
    Path dir = Files.createTempDirectory("conveyor-bench-backlog");
    int[] ports = EmbeddedKafka.freePorts(5);
    int barePort = ports[3];
    Path config = Bench.gatewayConfig(dir, "gateway", ports[1], ports[2], 0, "http://127.0.0.1:" + barePort + "/noop", true, "backlog.");
    List<double[]> samples = new ArrayList<>(); // second, heap used MiB, queued (accepted - completed), completed
    List<double[]> live = new ArrayList<>(); // completed, live heap MiB after a full GC
    long[] accepted = new long[1];
    Throwable[] fillError = new Throwable[1];
    double seconds;
    System.err.printf("backlog: %d invocations through one gateway (heap 512 MB) while it delivers them%n", count);
    try (ChildProcess broker = Bench.broker(dir, ports[0], ports[4]);
         ChildProcess bare = ChildProcess.java("function", "512m", Map.of(), dir.resolve("function.log"), "dev.conveyor.bench.BareServer",
             Integer.toString(barePort)).awaitPort(barePort, 60);
         ChildProcess gateway = Bench.gateway(dir, "gateway", config, ports[0], ports[1], "dev.conveyor.engine.Main");
         LoadGenerator load = new LoadGenerator()) {
      Thread fill = new Thread(() -> {
        try {
          load.send(ports[1], "/v1/namespaces/bench/functions/noop/invocations", "bench-key", Buffer.buffer("{\"n\":1}"), 64, count, 202);
        } catch (Throwable e) {
          fillError[0] = e;
        }
      }, "backlog-fill");
      long t0 = System.nanoTime();
      fill.start();
      int nextCheckpoint = 1;
      try (me.tongfei.progressbar.ProgressBar bar = new me.tongfei.progressbar.ProgressBarBuilder().setTaskName("backlog")
          .setInitialMax(count).setStyle(me.tongfei.progressbar.ProgressBarStyle.ASCII)
          .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build()) {
        long completed = 0;
        while (completed < count && System.nanoTime() - t0 < TimeUnit.MINUTES.toNanos(30)) {
          Thread.sleep(1000); // sampling the gateway's metrics once a second for the report
          String metrics = metrics(ports[2]);
          completed = sum(metrics, "conveyor_invocations_completed_total{");
          accepted[0] = sum(metrics, "conveyor_invocations_accepted_total{");
          double heap = sum(metrics, "jvm_memory_used_bytes{area=\"heap\"") / (1024.0 * 1024);
          samples.add(new double[] {(System.nanoTime() - t0) / 1e9, heap, accepted[0] - completed, completed});
          bar.stepTo(completed);
          bar.setExtraMessage(" queued " + (accepted[0] - completed) + ", heap " + Math.round(heap) + " MiB");
          if (completed >= (long) count * nextCheckpoint / 10 && nextCheckpoint <= 10) {
            live.add(new double[] {completed, liveHeap(gateway, ports[2])});
            nextCheckpoint++;
          }
          if (fillError[0] != null) throw new IllegalStateException("sending failed: " + fillError[0]);
        }
      }
      seconds = (System.nanoTime() - t0) / 1e9;
      fill.join(TimeUnit.MINUTES.toMillis(1));
    }
    double peakHeap = samples.stream().mapToDouble(s -> s[1]).max().orElse(0);
    double peakQueued = samples.stream().mapToDouble(s -> s[2]).max().orElse(0);
    long completed = samples.isEmpty() ? 0 : (long) samples.get(samples.size() - 1)[3];
    JsonArray liveJson = new JsonArray();
    StringBuilder liveRows = new StringBuilder();
    for (double[] l : live) {
      liveJson.add(new JsonObject().put("completed", (long) l[0]).put("liveHeapMiB", Math.round(l[1])));
      liveRows.append("| %,d | %d |%n".formatted((long) l[0], Math.round(l[1])));
    }
    String command = "benchmarks/run.sh backlog --count " + count;
    JsonObject result = new JsonObject().put("scenario", "backlog").put("when", Instant.now().toString()).put("command", command)
        .put("machine", Bench.machine()).put("invocations", count).put("accepted", accepted[0]).put("completed", completed)
        .put("seconds", Math.round(seconds)).put("gatewayHeapMax", "512m").put("peakQueued", Math.round(peakQueued))
        .put("peakHeapUsedMiB", Math.round(peakHeap)).put("liveHeapAfterFullGc", liveJson);
    String md = """
        | backlog (%s) | |
        |---|---:|
        | invocations accepted / completed | %,d / %,d in %.0f s |
        | largest backlog (accepted, not yet completed) | %,d |
        | gateway heap: max 512 MB, most in use at once | %d MiB |

        | completed so far | live heap after a full GC (MiB) |
        |---:|---:|
        %s
        `%s` on %s (default config: status cache bound 256 MiB).
        """.formatted(result.getString("when"), accepted[0], completed, seconds, Math.round(peakQueued), Math.round(peakHeap), liveRows,
        command, result.getString("machine"));
    Files.createDirectories(out);
    Files.writeString(out.resolve("backlog.json"), result.encodePrettily() + "\n");
    Files.writeString(out.resolve("backlog.md"), md);
    XYChart chart = new XYChartBuilder().width(900).height(420).title("backlog: heap in use and invocations queued")
        .xAxisTitle("seconds").yAxisTitle("MiB / thousands queued").build();
    chart.addSeries("heap used (MiB)", samples.stream().map(s -> s[0]).toList(), samples.stream().map(s -> s[1]).toList());
    chart.addSeries("queued (thousands)", samples.stream().map(s -> s[0]).toList(), samples.stream().map(s -> s[2] / 1000).toList());
    BitmapEncoder.saveBitmap(chart, out.resolve("backlog.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    System.out.println(md);
    if (completed < count) throw new IllegalStateException("only " + completed + " of " + count + " completed");
  }

  /** Forces a full GC in the gateway (jcmd GC.run) and reads the heap in use right after. */
  private static double liveHeap(ChildProcess gateway, int adminPort) throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(gateway.pid()),
        "GC.run").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    p.waitFor(60, TimeUnit.SECONDS);
    return sum(metrics(adminPort), "jvm_memory_used_bytes{area=\"heap\"") / (1024.0 * 1024);
  }

  private static String metrics(int adminPort) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }

  private static long sum(String metrics, String prefix) {
    return Math.round(metrics.lines().filter(l -> l.startsWith(prefix))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum());
  }
}
