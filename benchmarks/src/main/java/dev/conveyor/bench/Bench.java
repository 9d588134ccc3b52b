package dev.conveyor.bench;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * {@code benchmarks/run.sh accept}: async accepts per second and latency through the gateway
 * (acks=all, its own JVM with a 512 MB heap, a real broker in a third JVM) against a bare Vert.x
 * server answering 202, in the same run, interleaved round by round after a warm-up of each.
 * Prints the CPU each process spent per 1,000 requests, read from /proc.
 */
public final class Bench {
  static final String KEY = "bench-key";
  /** The gateway's dispatch.maxInFlight (and the tenant's and function's limits); -Dbench.maxInFlight to vary it. */
  private static final int MAX_IN_FLIGHT = Integer.getInteger("bench.maxInFlight", 512);

  public static void main(String[] args) throws Exception {
    String scenario = args.length > 0 ? args[0] : "accept";
    int connections = intArg(args, "--connections", 64);
    int seconds = intArg(args, "--seconds", 10);
    int rounds = intArg(args, "--rounds", 3);
    // The accept scenario measures an accept-only replica (dispatch.enabled: false): with the
    // dispatcher on, delivery of the backlog keeps running through the baseline's rounds too.
    boolean dispatch = List.of(args).contains("--with-dispatch");
    Path out = Path.of(stringArg(args, "--out", "benchmarks/results"));
    try {
      run(scenario, args, connections, seconds, rounds, dispatch, out);
    } catch (Throwable t) {
      removeWorkdirs(true);
      throw t;
    }
    removeWorkdirs(false);
    System.exit(0);
  }

  private static void run(String scenario, String[] args, int connections, int seconds, int rounds, boolean dispatch, Path out)
      throws Exception {
    switch (scenario) {
      case "accept" -> accept(connections, seconds, rounds, dispatch, out);
      case "admission" -> admission(connections, seconds, rounds, out);
      case "sync" -> sync(connections, seconds, rounds, out);
      case "coldstart" -> Coldstart.run(intArg(args, "--calls", 10), out);
      case "backlog" -> Backlog.run(intArg(args, "--count", 1_000_000), out);
      case "fairness" -> Fairness.run(intArg(args, "--flood", 40_000), intArg(args, "--seconds", 20), out);
      // -Dbench.before.classpath=<another build's jars>: that build drains beside this one (DrainAb)
      case "drain" -> {
        if (System.getProperty("bench.before.classpath") != null) {
          DrainAb.run(intArg(args, "--count", 300_000), intArg(args, "--warmup", 900_000), out);
        } else {
          drain(intArg(args, "--count", 300_000), intArg(args, "--warmup", 900_000), connections, seconds, out);
        }
      }
      // open loop: enough connections to carry the rate while a few are slow
      case "sustained" -> Sustained.run(intArg(args, "--start", 2_000), seconds, intArg(args, "--warmup", 300),
          intArg(args, "--budget", 600), intArg(args, "--connections", 128), out);
      case "warm" -> Warm.run(connections, intArg(args, "--seconds", 60), intArg(args, "--prewarm", 20), out);
      default -> {
        System.err.println("unknown scenario '" + scenario
            + "' (available: accept, admission, drain, sync, sustained, warm, fairness, coldstart, backlog, micro)");
        System.exit(2);
      }
    }
  }

  private static final List<Path> WORKDIRS = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * A run's working directory (the broker's log, the gateways' state, every process's log). A drain
   * or backlog run leaves a gigabyte of broker data: it is all removed when the run ends, except
   * the logs of a run that failed.
   */
  static Path workdir(String prefix) throws java.io.IOException {
    Path dir = Files.createTempDirectory(prefix);
    WORKDIRS.add(dir);
    return dir;
  }

  private static void removeWorkdirs(boolean keepLogs) {
    for (Path dir : WORKDIRS) {
      try {
        if (!keepLogs) {
          org.apache.kafka.common.utils.Utils.delete(dir.toFile());
          continue;
        }
        try (var files = Files.list(dir)) { // the logs and configs stay; data and unpacked libraries go
          for (Path f : files.toList()) {
            String n = f.getFileName().toString();
            if (Files.isDirectory(f) || !(n.endsWith(".log") || n.endsWith(".yaml") || n.endsWith(".properties"))) {
              org.apache.kafka.common.utils.Utils.delete(f.toFile());
            }
          }
        }
        System.err.println("the failed run's logs are in " + dir);
      } catch (java.io.IOException | RuntimeException e) {
        System.err.println("could not remove " + dir + ": " + e);
      }
    }
  }

  /** A server under load: its name in the report, its port, its process (for CPU time). */
  private record Target(String name, int port, ChildProcess process, String path) {
    Target(String name, int port, ChildProcess process) {
      this(name, port, process, PATH);
    }
  }

  static final Buffer BODY = Buffer.buffer("{\"order\":\"8c2d1f\",\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1}],\"total\":42.5}");
  static final String PATH = "/v1/namespaces/bench/functions/noop/invocations";

  /** A KRaft broker of its own for one benchmark run, in {@code dir}. */
  static ChildProcess broker(Path dir, int port, int controllerPort) throws Exception {
    Properties props = EmbeddedKafka.brokerProperties(dir.resolve("kafka"), port, controllerPort);
    EmbeddedKafka.formatIfNeeded(dir.resolve("kafka"), props);
    Path brokerConfig = dir.resolve("server.properties");
    try (OutputStream o = Files.newOutputStream(brokerConfig)) {
      props.store(o, "bench broker");
    }
    return ChildProcess.java("broker", "1g", Map.of(), dir.resolve("broker.log"), "kafka.Kafka", brokerConfig.toString())
        .awaitPort(port, 90);
  }

  /** The gateway config for a benchmark: tenant {@code bench} (API key {@link #KEY}) and a no-op function. */
  private static Path gatewayConfig(Path dir, String name, int port, int adminPort, int samplesPort, boolean dispatch, String prefix)
      throws Exception {
    return gatewayConfig(dir, name, port, adminPort, samplesPort, "http://127.0.0.1:" + Math.max(samplesPort, 1) + "/echo", dispatch,
        prefix);
  }

  /** The same with the function at {@code functionUrl}; {@code samplesPort} 0 serves no sample functions. */
  static Path gatewayConfig(Path dir, String name, int port, int adminPort, int samplesPort, String functionUrl,
      boolean dispatch, String prefix) throws Exception {
    Path config = dir.resolve(name + ".yaml");
    Files.writeString(config, """
        server: { port: %d, adminPort: %d }
        kafka: { topicPrefix: "%s"%s%s%s }
        tenants:
        %s
        functions:
          - { namespace: bench, name: noop, url: "%s", concurrency: %d }
        samples: { enabled: %s, port: %d }
        dispatch: { enabled: %s, maxInFlight: %d%s }
        %s
        %s
        """.formatted(port, adminPort, prefix,
        // packed, as a deployment whose replicas all run this version should; -Dbench.queueHeaders=perField for the
        // default, -Dbench.queueHeaders= (empty) to leave the key out (a build before it, as bench.before.classpath)
        System.getProperty("bench.queueHeaders", "packed").isEmpty() ? ""
            : ", queueHeaders: " + System.getProperty("bench.queueHeaders", "packed"),
        // status records packed too, for the same reason; -Dbench.statusRecords=json or = (empty) likewise
        System.getProperty("bench.statusRecords", "packed").isEmpty() ? ""
            : ", statusRecords: " + System.getProperty("bench.statusRecords", "packed"),
        // -Dbench.lingerMs=N: the gateway's kafka.lingerMs (its default otherwise)
        System.getProperty("bench.lingerMs") == null ? "" : ", lingerMs: " + Integer.getInteger("bench.lingerMs"),
        tenant("bench", KEY, MAX_IN_FLIGHT), functionUrl, MAX_IN_FLIGHT, samplesPort > 0,
        Math.max(samplesPort, 1), dispatch, MAX_IN_FLIGHT,
        // functions called over HTTP/2 (h2c), as in front of Knative, whose data path takes it; -Dbench.protocol=http1
        // for the default, -Dbench.protocol= (empty) to leave the key out (a build before it)
        System.getProperty("bench.protocol", "http2").isEmpty() ? "" : ", protocol: " + System.getProperty("bench.protocol", "http2"),
        // -Dbench.statusCacheBytes=N: another status cache bound than the gateway's default (a quarter of its heap)
        System.getProperty("bench.statusCacheBytes") == null ? "" : "status: { cacheMaxBytes: " + Long.getLong("bench.statusCacheBytes") + " }",
        // the rollups' dedupe entries packed, as with the records above; -Dbench.dedupeEntries=json or = (empty) likewise
        System.getProperty("bench.dedupeEntries", "packed").isEmpty() ? ""
            : "metering: { dedupeEntries: " + System.getProperty("bench.dedupeEntries", "packed") + " }"));
    return config;
  }

  static ChildProcess gateway(Path dir, String name, Path config, int brokerPort, int port, String main) throws Exception {
    return gateway(dir, name, config, brokerPort, port, main, Map.of());
  }

  /** A gateway process ({@code bin/conveyor up} through {@code main}), heap 512 MB, with {@code extraEnv} besides its own. */
  static ChildProcess gateway(Path dir, String name, Path config, int brokerPort, int port, String main, Map<String, String> extraEnv)
      throws Exception {
    return startGateway(dir, name, config, brokerPort, main, extraEnv).awaitPort(port, 120);
  }

  /** The same, started and not waited for (the warm scenario times its start itself). */
  static ChildProcess startGateway(Path dir, String name, Path config, int brokerPort, String main, Map<String, String> extraEnv) {
    Map<String, String> env = new java.util.HashMap<>(extraEnv);
    env.put("CONVEYOR_CONFIG", config.toString());
    env.put("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + brokerPort);
    env.put("CONVEYOR_DATA_DIR", dir.resolve(name + "-data").toString());
    return ChildProcess.java(name, "512m", gatewayOptions(), env, dir.resolve(name + ".log"), main, "up");
  }

  /**
   * The JVM options the gateway ships with ({@code config/jvm.options}, as bin/conveyor and the image
   * start it), for every gateway a scenario starts, another build's included;
   * {@code -Dbench.gateway.options=<file>} reads another file, empty for none.
   */
  static List<String> gatewayOptions() {
    String file = System.getProperty("bench.gateway.options", "config/jvm.options");
    if (file.isBlank()) return List.of();
    if (!Files.isRegularFile(Path.of(file))) {
      throw new IllegalStateException(file + " not found: run from the repository's root (benchmarks/run.sh does)");
    }
    return List.of("@" + Path.of(file).toAbsolutePath());
  }

  /** What {@link #measure} measured: every round of every target, and the CPU each process spent in each. */
  record Measured(List<LoadGenerator.Run> runs, List<Cpu.Sample> cpu) {
    JsonObject summary(String target) {
      return Report.summary(runs, cpu, target);
    }
  }

  /**
   * Warms every target up, in turn (this box needs it: JIT of servers, broker and generator on 2
   * cores), until {@code rising}'s throughput stops rising by more than 5% (at most 15 turns of 10 s), then
   * runs {@code rounds} rounds of every target in turn, so each round of each sees the same box. Each
   * round reads the CPU of the target's process ({@code server}), of the {@code shared} ones by role
   * (broker, function) and of this JVM ({@code load}) before and after it.
   */
  private static Measured measure(LoadGenerator load, Map<String, ChildProcess> shared, List<Target> targets, String rising,
      int connections, int seconds, int rounds) throws Exception {
    System.err.println("warm-up ...");
    double previous = 0;
    for (int w = 1; w <= 15; w++) {
      double now = 0;
      for (Target t : targets) { // every target as long as the slowest to warm, so none is measured colder
        double tput = load.run(t.name(), 0, t.port(), t.path(), KEY, BODY, connections, 10, 202).throughput();
        System.err.printf("warm-up %d: %s %.0f req/s%n", w, t.name(), tput);
        if (t.name().equals(rising)) now = tput;
      }
      if (w >= 3 && now < previous * 1.05) break;
      previous = Math.max(previous, now);
    }
    List<LoadGenerator.Run> runs = new ArrayList<>();
    List<Cpu.Sample> cpu = new ArrayList<>();
    for (int r = 1; r <= rounds; r++) {
      for (Target t : targets) {
        Cpu meter = Cpu.of(t.process(), shared);
        Cpu.Mark before = meter.mark();
        LoadGenerator.Run run = load.run(t.name(), r, t.port(), t.path(), KEY, BODY, connections, seconds, 202);
        Cpu.Mark after = meter.mark();
        Map<String, Double> per1k = meter.per1k(before, after, run.ok());
        runs.add(run);
        cpu.add(new Cpu.Sample(t.name(), r, per1k));
        System.err.printf("round %d %-14s %8.0f req/s  p50 %.2f ms  p99 %.2f ms  failed %d  CPU ms per 1k requests: %s  server by thread: %s%n",
            r, t.name(), run.throughput(), run.latencyMicros().getValueAtPercentile(50) / 1000.0,
            run.latencyMicros().getValueAtPercentile(99) / 1000.0, run.failed(), Cpu.format(per1k),
            byThreads(meter.serverThreadsPer1k(before, after, run.ok())));
      }
    }
    return new Measured(runs, cpu);
  }

  /** A two-target table's header: the first column's title, the throughput column's, then latency, failures and CPU by process. */
  static String header(String title, String throughput, List<String> processes) {
    return "| %s | %s | p50 ms | p99 ms | p99.9 ms | failed |%s%n|---|---:|---:|---:|---:|---:|%s%n".formatted(title, throughput,
        Report.cpuHeader(processes), Report.cpuAlign(processes));
  }

  static String row(String label, JsonObject s, List<String> processes) {
    return "| %s | %d | %.2f | %.2f | %.2f | %d |%s%n".formatted(label, s.getLong("medianPerSecond"), s.getDouble("p50Ms"),
        s.getDouble("p99Ms"), s.getDouble("p999Ms"), s.getLong("failed"), Report.cpuCells(s, processes));
  }

  /** A ratio row: the label and the five cells after it, the CPU columns empty. */
  static String ratioRow(String label, String cells, List<String> processes) {
    return "| %s | %s |%s%n".formatted(label, cells, Report.cpuRatioCells("", processes));
  }

  /** The goal's row: the server under test's CPU per request over the baseline server's, in the server's column. */
  static String cpuRatioRow(String label, Double ratio, List<String> processes) {
    return "| %s | | | | | |%s%n".formatted(label, Report.cpuRatioCells(ratio == null ? "-" : "**%.2f**".formatted(ratio), processes));
  }

  /** The sentence under a table with CPU columns: what they are. */
  static final String CPU_NOTE = "CPU ms/1k: the CPU each process spent per 1,000 requests while measured (median of rounds, "
      + "from /proc); the CPU ratio is the server under test's per request over the baseline server's.";

  static String machine() {
    return Runtime.getRuntime().availableProcessors() + " cores, Java " + System.getProperty("java.version");
  }

  static void accept(int connections, int seconds, int rounds, boolean dispatch, Path out) throws Exception {
    Path dir = workdir("conveyor-bench");
    int[] ports = EmbeddedKafka.freePorts(10); // 7-9: the other build's gateway (-Dbench.before.classpath)
    int brokerPort = ports[0];
    int gatewayPort = ports[1];
    int adminPort = ports[2];
    int barePort = ports[4];
    int storePort = ports[6];
    Path config = gatewayConfig(dir, "gateway", gatewayPort, adminPort, ports[3], dispatch, "conveyor.");
    // the linger the gateway runs with (its config file read as it reads it): the store-only server lingers as long
    int lingerMs = dev.conveyor.engine.config.ConfigLoader.load(config, Map.of()).kafka().lingerMs();
    // -Dbench.before.classpath=<another build's jars>: that build's gateway too, as a fourth target measured in the same
    // rounds ("before"), for an A/B of a change smaller than the run-to-run spread
    boolean ab = System.getProperty("bench.before.classpath") != null && !dispatch;
    int[] abPorts = ab ? java.util.Arrays.copyOfRange(ports, 7, 10) : null;
    Path abConfig = ab ? gatewayConfig(dir, "before", abPorts[0], abPorts[1], abPorts[2], false, "before.") : null;
    Measured measured;
    String heap;
    System.err.printf("accept: %d connections, %d s rounds x %d, dispatcher %s%n", connections, seconds, rounds, dispatch ? "on" : "off");
    try (ChildProcess broker = broker(dir, brokerPort, ports[5]);
         ChildProcess gateway = gateway(dir, "gateway", config, brokerPort, gatewayPort, "dev.conveyor.engine.Main");
         ChildProcess bare = ChildProcess.java("bare", "512m", Map.of(), dir.resolve("bare.log"), "dev.conveyor.bench.BareServer",
             Integer.toString(barePort)).awaitPort(barePort, 60);
         // accept-only: also the floor of storing before answering (Vert.x and an acks=all producer, nothing else)
         ChildProcess store = dispatch ? null : ChildProcess.java("store", "512m", Map.of(), dir.resolve("store.log"),
             "dev.conveyor.bench.StoreServer", Integer.toString(storePort), "127.0.0.1:" + brokerPort, "bench.store-only",
             Integer.toString(lingerMs))
             .awaitPort(storePort, 60);
         ChildProcess before = ab ? gateway(dir, "before", abConfig, brokerPort, abPorts[0], "dev.conveyor.engine.Main") : null;
         LoadGenerator load = new LoadGenerator()) {
      List<Target> targets = new ArrayList<>(List.of(new Target("baseline", barePort, bare)));
      if (store != null) targets.add(new Target("store-only", storePort, store));
      if (before != null) targets.add(new Target("before", abPorts[0], before));
      targets.add(new Target("gateway", gatewayPort, gateway));
      measured = measure(load, Map.of(Cpu.BROKER, broker), targets, "gateway", connections, seconds, rounds);
      heap = gatewayHeap(adminPort);
    }
    JsonObject base = measured.summary("baseline");
    JsonObject gw = measured.summary("gateway");
    JsonObject storeOnly = dispatch ? null : measured.summary("store-only");
    Double storeCpuRatio = storeOnly == null ? null : Report.cpuRatio(storeOnly, base);
    Double cpuRatio = Report.cpuRatio(gw, base);
    List<String> procs = Report.processes(List.of(base, gw));
    double ratio = gw.getLong("medianPerSecond") / (double) base.getLong("medianPerSecond");
    String command = "benchmarks/run.sh accept --connections " + connections + " --seconds " + seconds + " --rounds " + rounds
        + (dispatch ? " --with-dispatch" : "");
    JsonObject result = new JsonObject()
        .put("scenario", "accept")
        .put("when", Instant.now().toString())
        .put("command", command)
        .put("connections", connections)
        .put("dispatcher", dispatch)
        .put("machine", machine())
        .put("gatewayHeapMax", "512m")
        .put("gatewayHeapUsedAtEndMiB", heap)
        .put("baseline", base)
        .put("gateway", gw)
        .put("ratio", Math.round(ratio * 1000) / 1000.0)
        .put("cpuRatio", cpuRatio);
    if (storeOnly != null) result.put("storeOnly", storeOnly).put("storeOnlyCpuRatio", storeCpuRatio);
    JsonObject beforeGw = ab ? measured.summary("before") : null;
    if (beforeGw != null) {
      result.put("before", beforeGw).put("beforeClasspath", System.getProperty("bench.before.classpath"))
          .put("beforeCpuRatio", Report.cpuRatio(beforeGw, base));
    }
    // with the dispatcher on, a result of its own: both are measured, and one must not overwrite the other
    String name = dispatch ? "accept-with-dispatch" : "accept";
    String md = header("accept, %d connections (%s)".formatted(connections, result.getString("when")),
        "requests/s (median of %d rounds)".formatted(rounds), procs)
        + row("bare Vert.x 202 (baseline)", base, procs)
        + (storeOnly == null ? "" : row("store only: bare Vert.x + acks=all producer (linger %d ms), 202 on the ack"
            .formatted(lingerMs), storeOnly, procs))
        + (beforeGw == null ? "" : row("the same, another build (bench.before.classpath)", beforeGw, procs))
        + row("Conveyor, acks=all, heap 512 MB, dispatcher " + (dispatch ? "on (and delivering)" : "off"), gw, procs)
        + ratioRow("**ratio gateway / baseline**", "**%.2f** | | | |".formatted(ratio), procs)
        + (storeOnly == null ? "" : cpuRatioRow("CPU per request, store only / baseline", storeCpuRatio, procs))
        + (beforeGw == null ? "" : cpuRatioRow("CPU per request, the other build / baseline", result.getDouble("beforeCpuRatio"), procs))
        // the goal is the accept-only replica's; with the dispatcher on, each request is also delivered
        + cpuRatioRow(dispatch ? "**CPU per request, gateway (accepting and delivering) / baseline**"
            : "**CPU per request, gateway / baseline** (goal ≤ 2.0)", cpuRatio, procs)
        + "\n" + CPU_NOTE + "\n`%s` on %s.\n".formatted(command, result.getString("machine"))
        + (beforeGw == null ? "" : "The other build's gateway: `-Dbench.before.classpath=%s`.\n".formatted(
            System.getProperty("bench.before.classpath")));
    Report.write(out, name, result, md, measured.runs(), storeOnly == null ? List.of(base, gw) : List.of(base, storeOnly, gw));
    System.out.println(md);
  }

  /**
   * The cost of authentication and quotas: two accept-only gateways on one broker, identical but
   * for admission. One checks the API key (SHA-256 and lookup), the rate bucket and the backlog
   * quota on every request, as in production; the other (the baseline) runs with
   * {@code Runtime.withAdmissionChecksOffForBenchmark}: no authentication, no quota.
   */
  static void admission(int connections, int seconds, int rounds, Path out) throws Exception {
    Path dir = workdir("conveyor-bench-admission");
    int[] ports = EmbeddedKafka.freePorts(6);
    int brokerPort = ports[0];
    Path onConfig = gatewayConfig(dir, "checks-on", ports[1], ports[2], 0, false, "on.");
    Path offConfig = gatewayConfig(dir, "checks-off", ports[3], ports[4], 0, false, "off.");
    Measured measured;
    System.err.printf("admission: %d connections, %d s rounds x %d%n", connections, seconds, rounds);
    try (ChildProcess broker = broker(dir, brokerPort, ports[5]);
         ChildProcess on = gateway(dir, "checks-on", onConfig, brokerPort, ports[1], "dev.conveyor.engine.Main");
         ChildProcess off = gateway(dir, "checks-off", offConfig, brokerPort, ports[3], "dev.conveyor.bench.NoAdmissionGateway");
         LoadGenerator load = new LoadGenerator()) {
      measured = measure(load, Map.of(Cpu.BROKER, broker), List.of(new Target("checks-off", ports[3], off),
          new Target("checks-on", ports[1], on)), "checks-on", connections, seconds, rounds);
    }
    JsonObject base = measured.summary("checks-off");
    JsonObject gw = measured.summary("checks-on");
    Double cpuRatio = Report.cpuRatio(gw, base);
    List<String> procs = Report.processes(List.of(base, gw));
    double ratio = gw.getLong("medianPerSecond") / (double) base.getLong("medianPerSecond");
    String command = "benchmarks/run.sh admission --connections " + connections + " --seconds " + seconds + " --rounds " + rounds;
    JsonObject result = new JsonObject()
        .put("scenario", "admission")
        .put("when", Instant.now().toString())
        .put("command", command)
        .put("connections", connections)
        .put("machine", machine())
        .put("baseline", base)
        .put("gateway", gw)
        .put("ratio", Math.round(ratio * 1000) / 1000.0)
        .put("cost", Math.round((1 - ratio) * 1000) / 1000.0)
        .put("cpuRatio", cpuRatio);
    String md = header("admission, %d connections (%s)".formatted(connections, result.getString("when")),
        "requests/s (median of %d rounds)".formatted(rounds), procs)
        + row("Conveyor, no auth, no quotas (baseline)", base, procs)
        + row("Conveyor, API key + rate + backlog quota", gw, procs)
        + ratioRow("**ratio on / off**", "**%.3f** (cost %.1f%%) | | | |".formatted(ratio, (1 - ratio) * 100), procs)
        + cpuRatioRow("**CPU per request, on / off**", cpuRatio, procs)
        + "\n" + CPU_NOTE + "\n`%s` on %s.\n".formatted(command, result.getString("machine"));
    Report.write(out, "admission", result, md, measured.runs(), List.of(base, gw));
    System.out.println(md);
  }

  /**
   * Sync: the same no-op function (the bare server, its own JVM) called directly and through the
   * gateway's sync route (admission, concurrency limits, breaker, a usage record per call, tracing),
   * interleaved round by round after a warm-up of each. Reports the throughput ratio and the latency
   * the gateway adds (its percentile minus the direct call's).
   */
  static void sync(int connections, int seconds, int rounds, Path out) throws Exception {
    Path dir = workdir("conveyor-bench-sync");
    int[] ports = EmbeddedKafka.freePorts(5);
    int barePort = ports[3];
    Path config = gatewayConfig(dir, "gateway", ports[1], ports[2], 0, "http://127.0.0.1:" + barePort + "/noop", false, "sync.");
    Measured measured;
    System.err.printf("sync: %d connections, %d s rounds x %d%n", connections, seconds, rounds);
    try (ChildProcess broker = broker(dir, ports[0], ports[4]);
         ChildProcess bare = ChildProcess.java("function", "512m", Map.of(), dir.resolve("function.log"), "dev.conveyor.bench.BareServer",
             Integer.toString(barePort)).awaitPort(barePort, 60);
         ChildProcess gateway = gateway(dir, "gateway", config, ports[0], ports[1], "dev.conveyor.engine.Main");
         LoadGenerator load = new LoadGenerator()) {
      // the function's CPU is the direct calls' server's; through the gateway it is the function's column
      measured = measure(load, Map.of(Cpu.BROKER, broker, Cpu.FUNCTION, bare), List.of(new Target("direct", barePort, bare, "/noop"),
          new Target("gateway", ports[1], gateway, "/v1/namespaces/bench/functions/noop")), "gateway", connections, seconds, rounds);
    }
    JsonObject base = measured.summary("direct");
    JsonObject gw = measured.summary("gateway");
    Double cpuRatio = Report.cpuRatio(gw, base);
    List<String> procs = Report.processes(List.of(base, gw));
    double ratio = gw.getLong("medianPerSecond") / (double) base.getLong("medianPerSecond");
    double addedP50 = gw.getDouble("p50Ms") - base.getDouble("p50Ms");
    double addedP99 = gw.getDouble("p99Ms") - base.getDouble("p99Ms");
    String command = "benchmarks/run.sh sync --connections " + connections + " --seconds " + seconds + " --rounds " + rounds;
    JsonObject result = new JsonObject().put("scenario", "sync").put("when", Instant.now().toString()).put("command", command)
        .put("connections", connections).put("machine", machine()).put("baseline", base).put("gateway", gw)
        .put("ratio", Math.round(ratio * 1000) / 1000.0).put("addedP50Ms", Math.round(addedP50 * 100) / 100.0)
        .put("addedP99Ms", Math.round(addedP99 * 100) / 100.0).put("cpuRatio", cpuRatio);
    String md = header("sync, %d connections (%s)".formatted(connections, result.getString("when")),
        "requests/s (median of %d rounds)".formatted(rounds), procs)
        + row("direct call to the no-op function (baseline)", base, procs)
        + row("through Conveyor's sync route (usage record per call)", gw, procs)
        + ratioRow("**ratio gateway / direct**", "**%.2f** | added **%.2f** | added %.2f | |".formatted(ratio, addedP50, addedP99), procs)
        + cpuRatioRow("**CPU per request, gateway / function called directly**", cpuRatio, procs)
        + "\n" + CPU_NOTE + "\n`%s` on %s.\n".formatted(command, result.getString("machine"));
    Report.write(out, "sync", result, md, measured.runs(), List.of(base, gw));
    System.out.println(md);
  }

  /**
   * Drain: {@code warmup + count} invocations of a no-op function (the bare 202 server) are queued by
   * an accept-only gateway, which then stops; a gateway that delivers starts on the same topics. Its
   * first {@code warmup} completions warm it (and the broker) up; the clock runs from then until all
   * are completed (its own counter, read every second, every 50 ms near the clock's start and end),
   * with status and usage written for each. The baseline is direct calls to the same function from the load
   * generator ({@code connections}, {@code seconds}), after a warm-up round.
   */
  static void drain(int count, int warmup, int connections, int seconds, Path out) throws Exception {
    Path dir = workdir("conveyor-bench-drain");
    int[] ports = EmbeddedKafka.freePorts(7);
    int brokerPort = ports[0];
    int barePort = ports[5];
    String function = "http://127.0.0.1:" + barePort + "/noop";
    Path fillConfig = gatewayConfig(dir, "fill", ports[1], ports[2], 0, function, false, "drain.");
    Path drainConfig = gatewayConfig(dir, "drain", ports[3], ports[4], 0, function, true, "drain.");
    List<LoadGenerator.Run> runs = new ArrayList<>();
    double drainSeconds;
    long measured;
    double jit;
    Map<String, Double> threads;
    List<Cpu.Sample> cpu = new ArrayList<>();
    String heap;
    System.err.printf("drain: %d invocations; baseline %d connections x %d s%n", count, connections, seconds);
    try (ChildProcess broker = broker(dir, brokerPort, ports[6]);
         ChildProcess bare = ChildProcess.java("function", "512m", Map.of(), dir.resolve("function.log"), "dev.conveyor.bench.BareServer",
             Integer.toString(barePort)).awaitPort(barePort, 60);
         LoadGenerator load = new LoadGenerator()) {
      try (ChildProcess fill = gateway(dir, "fill", fillConfig, brokerPort, ports[1], "dev.conveyor.engine.Main")) {
        System.err.printf("queueing %d + %d (warm-up) ...%n", count, warmup);
        load.send(ports[1], PATH, KEY, BODY, 64, count + warmup, 202);
      }
      long total = count + warmup;
      List<Long> perSecond = new ArrayList<>();
      try (ChildProcess drainer = gateway(dir, "drain", drainConfig, brokerPort, ports[3], "dev.conveyor.engine.Main")) {
        long started = System.nanoTime();
        long t0 = 0;
        long base = 0;
        long done = 0;
        Cpu meter = Cpu.of(drainer, Map.of(Cpu.BROKER, broker, Cpu.FUNCTION, bare));
        Cpu.Mark cpu0 = null;
        try (me.tongfei.progressbar.ProgressBar bar = new me.tongfei.progressbar.ProgressBarBuilder().setTaskName("draining")
            .setInitialMax(total).setStyle(me.tongfei.progressbar.ProgressBarStyle.ASCII)
            .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build()) {
          long last = 0;
          long lastSecond = System.nanoTime();
          double rate = 0;
          long polled = System.nanoTime();
          while (done < total && System.nanoTime() - started < TimeUnit.MINUTES.toNanos(15)) {
            // Sampling the gateway's counter for the clock and the report: once a second (a scrape of
            // /metrics costs the gateway CPU), every 50 ms when the warm-up's end or the last
            // invocation is less than 1.5 s away, so the clock starts and stops within 50 ms.
            long milestone = t0 == 0 ? warmup : total;
            Thread.sleep(rate > 0 && (milestone - done) < rate * 1.5 ? 50 : 1000);
            long before = done;
            done = completed(ports[4]);
            long now = System.nanoTime();
            if (now > polled) rate = (done - before) * 1e9 / (now - polled);
            polled = now;
            bar.stepTo(done);
            if (t0 == 0 && done >= warmup) { // the warm-up's invocations are through: the clock starts
              t0 = System.nanoTime();
              base = done;
              last = done;
              lastSecond = t0;
              cpu0 = meter.mark();
              bar.setExtraMessage(" measuring");
            }
            if (t0 != 0 && System.nanoTime() - lastSecond >= 1_000_000_000L) {
              perSecond.add(done - last);
              last = done;
              lastSecond += 1_000_000_000L;
            }
          }
        }
        long end = System.nanoTime();
        drainSeconds = t0 == 0 ? 0 : (end - t0) / 1e9;
        measured = done - base;
        Cpu.Mark cpu1 = meter.mark();
        Map<String, Double> per1k = meter.per1k(cpu0 == null ? cpu1 : cpu0, cpu1, measured);
        cpu.add(new Cpu.Sample("gateway drain", 1, per1k));
        threads = meter.serverThreadsPer1k(cpu0 == null ? cpu1 : cpu0, cpu1, measured);
        jit = threads.get(Cpu.JIT);
        System.err.printf("CPU ms per 1k invocations: %s (of the gateway's: %s)%n", Cpu.format(per1k), byThreads(threads));
        heap = gatewayHeap(ports[4]);
        if (done < total) throw new IllegalStateException("only " + done + " of " + total + " completed within 15 minutes");
      }
      runs.add(new LoadGenerator.Run("gateway drain", 1, measured, 0, drainSeconds,
          new org.HdrHistogram.Histogram(3), perSecond));
      load.run("direct", 0, barePort, "/noop", KEY, BODY, connections, 10, 202);
      Cpu direct = Cpu.of(bare, Map.of(Cpu.BROKER, broker));
      Cpu.Mark before = direct.mark();
      LoadGenerator.Run run = load.run("direct", 1, barePort, "/noop", KEY, BODY, connections, seconds, 202);
      runs.add(run);
      cpu.add(new Cpu.Sample("direct", 1, direct.per1k(before, direct.mark(), run.ok())));
    }
    JsonObject gw = Report.summary(runs, cpu, "gateway drain");
    JsonObject base = Report.summary(runs, cpu, "direct");
    JsonObject gwCpu = gw.getJsonObject("cpuMsPer1000");
    Double cpuRatio = Report.cpuRatio(gw, base);
    List<String> procs = Report.processes(List.of(base, gw));
    double drainRate = runs.get(0).ok() / drainSeconds;
    double direct = runs.get(1).throughput();
    double ratio = drainRate / direct;
    String command = "benchmarks/run.sh drain --count " + count + " --warmup " + warmup + " --connections " + connections + " --seconds " + seconds;
    JsonObject result = new JsonObject().put("scenario", "drain").put("when", Instant.now().toString()).put("command", command)
        .put("machine", machine()).put("invocations", count).put("warmup", warmup).put("completed", runs.get(0).ok())
        .put("drainSeconds", Math.round(drainSeconds * 10) / 10.0).put("drainPerSecond", Math.round(drainRate))
        .put("directPerSecond", Math.round(direct)).put("ratio", Math.round(ratio * 1000) / 1000.0)
        .put("gatewayHeapUsedAtEndMiB", heap)
        // the gateway's by process as before (gateway, broker, function), and both targets' by role
        .put("cpuMsPer1000", new JsonObject().put("gateway", gwCpu.getDouble(Cpu.SERVER, 0.0))
            .put("broker", gwCpu.getDouble(Cpu.BROKER, 0.0)).put("function", gwCpu.getDouble(Cpu.FUNCTION, 0.0)))
        .put("baselineCpuMsPer1000", base.getJsonObject("cpuMsPer1000")).put("gatewayCpuMsPer1000", gwCpu)
        .put("cpuRatio", cpuRatio).put("gatewayJitCpuMsPer1000", jit)
        .put("gatewayCpuMsPer1000ByThreads", new JsonObject(new java.util.LinkedHashMap<>(threads)));
    String md = "| drain (%s) | invocations/s | |%s%n|---|---:|---|%s%n".formatted(result.getString("when"),
        Report.cpuHeader(procs), Report.cpuAlign(procs))
        + "| direct calls to the no-op function (baseline, %d connections) | %d | |%s%n".formatted(connections, Math.round(direct),
            Report.cpuCells(base, procs))
        + "| Conveyor: queued invocations delivered, status and usage written (after %d of warm-up) | %d | %d in %.1f s |%s%n"
            .formatted(warmup, Math.round(drainRate), runs.get(0).ok(), drainSeconds, Report.cpuCells(gw, procs))
        + "| **ratio gateway / direct** | **%.2f** | |%s%n".formatted(ratio, Report.cpuRatioCells("", procs))
        + "| **CPU per invocation, gateway / function called directly** | | |%s%n".formatted(
            Report.cpuRatioCells(cpuRatio == null ? "-" : "**%.2f**".formatted(cpuRatio), procs))
        + "\nCPU ms/1k: the CPU each process spent per 1,000 invocations delivered (the gateway's) or calls (direct) while "
        + "measured, from /proc. Of the gateway's, by its threads (ms per 1,000): %s.\n`%s` on %s.\n".formatted(
            byThreads(threads), command, result.getString("machine"));
    Report.write(out, "drain", result, md, runs, "invocations delivered (gateway) or calls (direct) per second",
        "direct calls' latency percentiles", "ms", List.of(base, gw));
    System.out.println(md);
  }

  /** {@code event loops 43.4, usage pipeline (Kafka Streams, RocksDB) 24.7, ...}, largest first. */
  static String byThreads(Map<String, Double> threads) {
    return threads.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
        .map(e -> e.getKey() + " " + e.getValue()).collect(java.util.stream.Collectors.joining(", "));
  }

  /**
   * The gateway's {@code conveyor_invocations_completed_total}, summed: that family alone, as
   * {@code sustained} reads its counters. A whole scrape (every Kafka client metric, 155 KB of text,
   * built in buffers that grow past half a G1 region) once a second, and every 50 ms near the clock's
   * start and stop, was G1 humongous allocations that started concurrent cycles: a cost the gateway
   * does not have under Prometheus.
   */
  static long completed(int adminPort) {
    return sum(scrape(adminPort, "conveyor_invocations_completed_total"), "conveyor_invocations_completed_total{");
  }

  private static String gatewayHeap(int adminPort) {
    String metrics = scrape(adminPort);
    return metrics.isEmpty() ? "unknown" : Long.toString(sum(metrics, HEAP_USED) / (1024 * 1024));
  }

  static final String HEAP_USED = "jvm_memory_used_bytes{area=\"heap\"";
  private static final HttpClient SCRAPER = HttpClient.newHttpClient();

  /** A gateway's {@code /metrics} text ("" when it cannot be read). */
  static String scrape(int adminPort) {
    return scrape(adminPort, new String[0]);
  }

  /**
   * Only the metric families named ({@code /metrics?name[]=...}): what a benchmark that reads two
   * counters every second costs the gateway, instead of a whole scrape (every Kafka client metric)
   * fifteen times more often than Prometheus scrapes in production.
   */
  static String scrape(int adminPort, String... names) {
    StringBuilder query = new StringBuilder();
    for (String n : names) query.append(query.length() == 0 ? "?" : "&").append("name%5B%5D=").append(n);
    try {
      return SCRAPER.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics" + query)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }

  /** The sum of the samples whose line starts with {@code prefix} (a metric name and the start of its labels). */
  static long sum(String metrics, String prefix) {
    return Math.round(metrics.lines().filter(l -> l.startsWith(prefix))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum());
  }

  /** A tenant of a benchmark config: a YAML list item for {@code tenants:}, API key {@code key}, quotas out of the way. */
  static String tenant(String name, String key, int maxConcurrency) throws Exception {
    return """
          - name: %s
            namespaces: [%s]
            apiKeys: [ { sha256: "%s", roles: [invoke, read] } ]
            limits: { maxConcurrency: %d, ratePerSecond: 10000000, burst: 10000000, maxQueued: 1000000000 }\
        """.formatted(name, name, sha256(key), maxConcurrency);
  }

  static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes()));
  }

  private static int intArg(String[] args, String name, int dflt) {
    return Integer.parseInt(stringArg(args, name, Integer.toString(dflt)));
  }

  private static String stringArg(String[] args, String name, String dflt) {
    for (int i = 0; i < args.length - 1; i++) if (args[i].equals(name)) return args[i + 1];
    return dflt;
  }

  private Bench() {}
}
