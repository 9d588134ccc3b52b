package dev.conveyor.bench;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import io.vertx.core.buffer.Buffer;
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

/**
 * {@code benchmarks/run.sh backlog}: a backlog of {@code count} invocations and two gateways with a
 * 512 MB heap each, default config. First an accept-only gateway takes all of them (202 each, the
 * backlog grows to {@code count} on Kafka); then a delivering gateway starts on that backlog and
 * delivers all of it to the no-op function. Every second the heap in use is read from /metrics; at
 * each tenth of the way a full GC is forced (jcmd) and the live heap read: what a gateway keeps must
 * not grow with the backlog or with the invocations it has seen.
 */
final class Backlog {
  private Backlog() {}

  /** One gateway's phase: its heap every second and its live heap at each tenth. */
  private record Phase(String name, List<double[]> samples, List<double[]> live, double seconds, long done) {}

  static void run(int count, Path out) throws Exception {
    Path dir = Bench.workdir("conveyor-bench-backlog");
    int[] ports = EmbeddedKafka.freePorts(7);
    int barePort = ports[5];
    String function = "http://127.0.0.1:" + barePort + "/noop";
    Path fillConfig = Bench.gatewayConfig(dir, "accept", ports[1], ports[2], 0, function, false, "backlog.");
    Path drainConfig = Bench.gatewayConfig(dir, "deliver", ports[3], ports[4], 0, function, true, "backlog.");
    Phase accept;
    Phase deliver;
    System.err.printf("backlog: %d invocations accepted by one gateway, then delivered by another (heap 512 MB each)%n", count);
    try (ChildProcess broker = Bench.broker(dir, ports[0], ports[6]);
         ChildProcess bare = ChildProcess.java("function", "512m", Map.of(), dir.resolve("function.log"), "dev.conveyor.bench.BareServer",
             Integer.toString(barePort)).awaitPort(barePort, 60);
         LoadGenerator load = new LoadGenerator()) {
      try (ChildProcess gw = Bench.gateway(dir, "accept", fillConfig, ports[0], ports[1], "dev.conveyor.engine.Main")) {
        Throwable[] fillError = new Throwable[1];
        Thread fill = new Thread(() -> {
          try {
            load.send(ports[1], "/v1/namespaces/bench/functions/noop/invocations", "bench-key", Buffer.buffer("{\"n\":1}"), 64, count,
                202);
          } catch (Throwable e) {
            fillError[0] = e;
          }
        }, "backlog-fill");
        fill.start();
        accept = phase("accepting", gw, ports[2], count, "conveyor_invocations_accepted_total{", fillError);
        fill.join(TimeUnit.MINUTES.toMillis(1));
      }
      try (ChildProcess gw = Bench.gateway(dir, "deliver", drainConfig, ports[0], ports[3], "dev.conveyor.engine.Main")) {
        deliver = phase("delivering", gw, ports[4], count, "conveyor_invocations_completed_total{", new Throwable[1]);
      }
    }
    JsonArray phases = new JsonArray();
    StringBuilder tables = new StringBuilder();
    for (Phase p : List.of(accept, deliver)) {
      JsonArray live = new JsonArray();
      StringBuilder rows = new StringBuilder();
      for (double[] l : p.live()) {
        live.add(new JsonObject().put("done", (long) l[0]).put("liveHeapMiB", Math.round(l[1])));
        rows.append("| %,d | %d |%n".formatted((long) l[0], Math.round(l[1])));
      }
      long peak = Math.round(p.samples().stream().mapToDouble(x -> x[1]).max().orElse(0));
      phases.add(new JsonObject().put("phase", p.name()).put("done", p.done()).put("seconds", Math.round(p.seconds()))
          .put("peakHeapUsedMiB", peak).put("liveHeapAfterFullGc", live));
      tables.append("""
          **%s** %,d in %.0f s (%,.0f/s); most heap in use at once %d MiB of 512.

          | %s so far | live heap after a full GC (MiB) |
          |---:|---:|
          %s
          """.formatted(p.name(), p.done(), p.seconds(), p.done() / p.seconds(), peak, p.name(), rows));
    }
    String command = "benchmarks/run.sh backlog --count " + count;
    JsonObject result = new JsonObject().put("scenario", "backlog").put("when", Instant.now().toString()).put("command", command)
        .put("machine", Bench.machine()).put("invocations", count).put("gatewayHeapMax", "512m").put("phases", phases);
    String md = "backlog of %,d invocations (%s), two gateways with a 512 MB heap, default config (status cache bound a quarter of the heap, 128 MiB).%n%n%s"
        .formatted(count, result.getString("when"), tables) + "`" + command + "` on " + result.getString("machine") + ".\n";
    Files.createDirectories(out);
    Files.writeString(out.resolve("backlog.json"), result.encodePrettily() + "\n");
    Files.writeString(out.resolve("backlog.md"), md);
    XYChart chart = new XYChartBuilder().width(900).height(420).title("backlog: heap in use, and the backlog on Kafka")
        .xAxisTitle("seconds").yAxisTitle("MiB / thousands queued").build();
    double offset = 0;
    for (Phase p : List.of(accept, deliver)) {
      final double o = offset;
      chart.addSeries(p.name() + ": heap used (MiB)", p.samples().stream().map(x -> x[0] + o).toList(),
          p.samples().stream().map(x -> x[1]).toList());
      chart.addSeries(p.name() + ": backlog (thousands)", p.samples().stream().map(x -> x[0] + o).toList(),
          p.samples().stream().map(x -> (p == accept ? x[2] : count - x[2]) / 1000).toList());
      offset += p.seconds();
    }
    BitmapEncoder.saveBitmap(chart, out.resolve("backlog.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    System.out.println(md);
    if (deliver.done() < count) throw new IllegalStateException("only " + deliver.done() + " of " + count + " delivered");
  }

  /** Follows one gateway until its {@code counter} reaches {@code count} (at most 30 minutes). */
  private static Phase phase(String name, ChildProcess gw, int adminPort, int count, String counter, Throwable[] error)
      throws Exception {
    List<double[]> samples = new ArrayList<>(); // second, heap used MiB, done
    List<double[]> live = new ArrayList<>(); // done, live heap MiB after a full GC
    long t0 = System.nanoTime();
    long done = 0;
    int nextCheckpoint = 1;
    try (me.tongfei.progressbar.ProgressBar bar = new me.tongfei.progressbar.ProgressBarBuilder().setTaskName(name)
        .setInitialMax(count).setStyle(me.tongfei.progressbar.ProgressBarStyle.ASCII)
        .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build()) {
      while (done < count && System.nanoTime() - t0 < TimeUnit.MINUTES.toNanos(30)) {
        Thread.sleep(1000); // sampling the gateway's metrics once a second for the report
        String metrics = Bench.scrape(adminPort);
        done = Bench.sum(metrics, counter);
        double heap = Bench.sum(metrics, Bench.HEAP_USED) / (1024.0 * 1024);
        samples.add(new double[] {(System.nanoTime() - t0) / 1e9, heap, done});
        bar.stepTo(done);
        bar.setExtraMessage(" heap " + Math.round(heap) + " MiB");
        while (nextCheckpoint <= 10 && done >= (long) count * nextCheckpoint / 10) {
          live.add(new double[] {done, liveHeap(gw, adminPort)});
          nextCheckpoint++;
        }
        if (error[0] != null) throw new IllegalStateException("sending failed: " + error[0]);
      }
    }
    return new Phase(name, samples, live, (System.nanoTime() - t0) / 1e9, done);
  }

  /** Forces a full GC in the gateway (jcmd GC.run) and reads the heap in use right after. */
  private static double liveHeap(ChildProcess gateway, int adminPort) throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(gateway.pid()),
        "GC.run").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    p.waitFor(60, TimeUnit.SECONDS);
    return Bench.sum(Bench.scrape(adminPort), Bench.HEAP_USED) / (1024.0 * 1024);
  }
}
