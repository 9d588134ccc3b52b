package dev.conveyor.bench;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code drain} with {@code -Dbench.before.classpath=<another build's jars>}: this build's gateway and
 * that build's drain their own backlogs at the same time, on one broker and one function, and each
 * one's CPU per 1,000 invocations is read over the same window: from when both are past their
 * warm-up to when the first has delivered its last. Runs minutes apart on this kind of machine differ
 * by more than the changes worth measuring (the function called directly from 11 to 26 ms per 1,000
 * within a day); side by side, both see the same machine. Each has about half of it, so the figures
 * compare the two builds with each other, not with a drain run alone.
 */
final class DrainAb {
  private DrainAb() {}

  /** One gateway draining: its process, its admin port, and what it delivered. */
  private static final class Drainer {
    final String name;
    final ChildProcess process;
    final int adminPort;
    final Cpu meter;
    long done;
    Cpu.Mark from;
    long fromDone;

    Drainer(String name, ChildProcess process, int adminPort, Cpu meter) {
      this.name = name;
      this.process = process;
      this.adminPort = adminPort;
      this.meter = meter;
    }
  }

  static void run(int count, int warmup, Path out) throws Exception {
    String before = System.getProperty("bench.before.classpath");
    // both of that build's gateways (the one queueing and the one draining) run from its jars
    System.setProperty("bench.beforefill.classpath", before);
    System.setProperty("bench.beforedrain.classpath", before);
    // and this side's from the build -Dbench.drain.classpath names, if one does (the builds swapped)
    if (System.getProperty("bench.drain.classpath") != null && System.getProperty("bench.fill.classpath") == null) {
      System.setProperty("bench.fill.classpath", System.getProperty("bench.drain.classpath"));
    }
    Path dir = Bench.workdir("conveyor-bench-drain-ab");
    int[] ports = EmbeddedKafka.freePorts(11);
    int brokerPort = ports[0];
    int barePort = ports[9];
    String function = "http://127.0.0.1:" + barePort + "/noop";
    Path fillA = Bench.gatewayConfig(dir, "fill", ports[1], ports[2], 0, function, false, "drain.");
    Path drainA = ownGroups(Bench.gatewayConfig(dir, "drain", ports[3], ports[4], 0, function, true, "drain."), "drain.");
    Path fillB = Bench.gatewayConfig(dir, "beforefill", ports[5], ports[6], 0, function, false, "before.");
    Path drainB = ownGroups(Bench.gatewayConfig(dir, "beforedrain", ports[7], ports[8], 0, function, true, "before."), "before.");
    int total = count + warmup;
    System.err.printf("drain A/B: %d invocations each (after %d of warm-up), this build and %s, side by side%n", count, warmup, before);
    JsonObject result;
    try (ChildProcess broker = Bench.broker(dir, brokerPort, ports[10]);
         ChildProcess bare = ChildProcess.java("function", "512m", Map.of(), dir.resolve("function.log"), "dev.conveyor.bench.BareServer",
             Integer.toString(barePort)).awaitPort(barePort, 60);
         LoadGenerator load = new LoadGenerator()) {
      try (ChildProcess fill = Bench.gateway(dir, "fill", fillA, brokerPort, ports[1], "dev.conveyor.engine.Main")) {
        System.err.printf("queueing %d for this build ...%n", total);
        load.send(ports[1], Bench.PATH, Bench.KEY, Bench.BODY, 64, total, 202);
      }
      try (ChildProcess fill = Bench.gateway(dir, "beforefill", fillB, brokerPort, ports[5], "dev.conveyor.engine.Main")) {
        System.err.printf("queueing %d for the other build ...%n", total);
        load.send(ports[5], Bench.PATH, Bench.KEY, Bench.BODY, 64, total, 202);
      }
      // started together: the one started first would be further through its warm-up (its compiler
      // done sooner) when the window opens. What the position still moves shows when the builds are
      // swapped (-Dbench.drain.classpath=) and run again.
      try (ChildProcess a = Bench.startGateway(dir, "drain", drainA, brokerPort, "dev.conveyor.engine.Main", Map.of());
           ChildProcess b = Bench.startGateway(dir, "beforedrain", drainB, brokerPort, "dev.conveyor.engine.Main", Map.of())) {
        a.awaitPort(ports[3], 120);
        b.awaitPort(ports[7], 120);
        Drainer[] both = {
            // the broker and the function serve both: neither side's per 1,000
            new Drainer("drain", a, ports[4], Cpu.of(a, Map.of())),
            new Drainer("beforedrain", b, ports[8], Cpu.of(b, Map.of()))};
        result = measure(both, warmup, total);
      }
    }
    result.put("scenario", "drain-ab").put("when", Instant.now().toString()).put("before", before).put("invocations", count)
        .put("warmup", warmup).put("machine", Bench.machine());
    String md = table(result, count, warmup, before);
    Files.createDirectories(out);
    Files.writeString(out.resolve("drain-ab.json"), result.encodePrettily());
    Files.writeString(out.resolve("drain-ab.md"), md);
    System.out.println(md);
  }

  /**
   * The config with consumer groups of the side's own (the dispatcher's group names the retry,
   * callback and forwarder groups too): in the default group, one side joining or leaving would
   * pause the other's consumers for the rebalance.
   */
  private static Path ownGroups(Path config, String prefix) throws java.io.IOException {
    String yaml = Files.readString(config);
    String withGroup = yaml.replace("dispatch: { enabled:", "dispatch: { group: \"" + prefix + "dispatch\", enabled:");
    if (withGroup.equals(yaml)) throw new IllegalStateException("no dispatch settings in " + config);
    Files.writeString(config, withGroup);
    return config;
  }

  /**
   * Follows both until one delivered all: the window opens when both have delivered their warm-up and
   * closes when the first has delivered everything (each read once a second, every 100 ms near the
   * ends).
   */
  private static JsonObject measure(Drainer[] both, long warmup, long total) throws Exception {
    long started = System.nanoTime();
    long t0 = 0;
    long t1 = 0;
    long polled = started;
    while (System.nanoTime() - started < TimeUnit.MINUTES.toNanos(20)) {
      boolean near = false;
      long now = System.nanoTime();
      for (Drainer d : both) {
        long before = d.done;
        d.done = Math.max(d.done, completedOf(d)); // a failed read gives 0
        double perSecond = (d.done - before) * 1e9 / Math.max(1, now - polled);
        long milestone = t0 == 0 ? warmup : total;
        near |= d.done < milestone && milestone - d.done < perSecond * 2; // within two seconds of it
      }
      polled = now;
      if (t0 == 0 && both[0].done >= warmup && both[1].done >= warmup) {
        if (both[0].done >= total || both[1].done >= total) {
          throw new IllegalStateException("one side delivered all before the other was past its warm-up: run with a larger --count");
        }
        t0 = System.nanoTime();
        for (Drainer d : both) {
          d.from = d.meter.mark();
          d.fromDone = d.done;
        }
        System.err.println("both warm: measuring");
      }
      if (t0 != 0 && (both[0].done >= total || both[1].done >= total)) {
        t1 = System.nanoTime();
        break;
      }
      System.err.printf("delivered: first row %d, second row %d of %d%n", both[0].done, both[1].done, total);
      // polling the gateways' counters: each read (the completed counter alone) is a small cost to
      // both, inside the window
      Thread.sleep(near ? 100 : 1000);
    }
    if (t0 == 0 || t1 == 0) throw new IllegalStateException("the drains did not both get through within 20 minutes");
    double seconds = (t1 - t0) / 1e9;
    JsonObject r = new JsonObject().put("windowSeconds", Math.round(seconds * 10) / 10.0);
    for (Drainer d : both) {
      Cpu.Mark to = d.meter.mark();
      long n = d.done - d.fromDone;
      Map<String, Double> per1k = d.meter.per1k(d.from, to, n);
      Map<String, Double> threads = d.meter.serverThreadsPer1k(d.from, to, n);
      r.put(d.name, new JsonObject().put("delivered", n).put("perSecond", Math.round(n / seconds))
          .put("cpuMsPer1000", new JsonObject(new LinkedHashMap<>(per1k)))
          .put("gatewayCpuMsPer1000ByThreads", new JsonObject(new LinkedHashMap<>(threads)))
          .put("byThreads", Bench.byThreads(threads)).put("ran", side(d.name)));
    }
    return r;
  }

  private static long completedOf(Drainer d) {
    if (!d.process.alive()) throw new IllegalStateException("the " + d.name + " gateway exited");
    return Bench.completed(d.adminPort);
  }

  /** How a side's gateway ran: its classpath, JDK and extra JVM options where they are not this run's own. */
  private static String side(String child) {
    String cp = System.getProperty("bench." + child + ".classpath");
    String java = System.getProperty("bench." + child + ".java");
    String jvm = System.getProperty("bench." + child + ".jvm");
    return (cp == null ? "this run's classpath" : "classpath " + cp) + (java == null ? "" : ", JDK " + java)
        + (jvm == null ? "" : ", JVM options " + jvm);
  }

  private static String table(JsonObject r, int count, int warmup, String before) {
    StringBuilder md = new StringBuilder();
    md.append("| drain A/B (%s), side by side over %.1f s | delivered | invocations/s | gateway CPU ms/1k | by its threads (ms/1k) |%n"
        .formatted(r.getString("when"), r.getDouble("windowSeconds")));
    md.append("|---|---:|---:|---:|---|\n");
    for (String name : new String[] {"drain", "beforedrain"}) {
      JsonObject d = r.getJsonObject(name);
      String label = name.equals("beforedrain") ? "bench.before.classpath"
          : System.getProperty("bench.drain.classpath") == null ? "this build" : "bench.drain.classpath";
      md.append("| %s | %d | %d | **%.1f** | %s |%n".formatted(label, d.getLong("delivered"), d.getLong("perSecond"),
          d.getJsonObject("cpuMsPer1000").getDouble(Cpu.SERVER), d.getString("byThreads")));
    }
    double a = r.getJsonObject("drain").getJsonObject("cpuMsPer1000").getDouble(Cpu.SERVER);
    double b = r.getJsonObject("beforedrain").getJsonObject("cpuMsPer1000").getDouble(Cpu.SERVER);
    md.append("| **first row / second row** | | | **%.3f** | |%n".formatted(a / b));
    md.append("\nBoth gateways drain their own backlog (%d each after %d of warm-up) at the same time, one broker and one "
        .formatted(count, warmup));
    md.append("function between them; the window opens when both are past their warm-up and closes when the first is done. "
        + "Each has about half the machine: compare the two rows with each other, not with a drain run alone.\n");
    md.append("`java -Dbench.before.classpath=%s ... Bench drain --count %d --warmup %d` on %s.%n".formatted(before, count, warmup,
        r.getString("machine")));
    md.append("First row: %s. Second row: %s.%n".formatted(r.getJsonObject("drain").getString("ran"),
        r.getJsonObject("beforedrain").getString("ran")));
    return md.toString();
  }
}
