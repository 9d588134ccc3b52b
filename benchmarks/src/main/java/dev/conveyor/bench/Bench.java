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

/**
 * {@code benchmarks/run.sh accept}: async accepts per second and latency through the gateway
 * (acks=all, its own JVM with a 512 MB heap, a real broker in a third JVM) against a bare Vert.x
 * server answering 202, in the same run, interleaved round by round after a warm-up of each.
 * Prints the CPU each process spent per 1,000 requests, read from /proc.
 */
public final class Bench {
  private static final String KEY = "bench-key";

  public static void main(String[] args) throws Exception {
    String scenario = args.length > 0 ? args[0] : "accept";
    int connections = intArg(args, "--connections", 64);
    int seconds = intArg(args, "--seconds", 10);
    int rounds = intArg(args, "--rounds", 3);
    // The accept scenario measures an accept-only replica (dispatch.enabled: false): with the
    // dispatcher on, delivery of the backlog keeps running through the baseline's rounds too.
    boolean dispatch = List.of(args).contains("--with-dispatch");
    Path out = Path.of(stringArg(args, "--out", "benchmarks/results"));
    if (!scenario.equals("accept")) {
      System.err.println("unknown scenario '" + scenario + "' (available: accept)");
      System.exit(2);
    }
    accept(connections, seconds, rounds, dispatch, out);
    System.exit(0);
  }

  static void accept(int connections, int seconds, int rounds, boolean dispatch, Path out) throws Exception {
    Path dir = Files.createTempDirectory("conveyor-bench");
    int[] ports = EmbeddedKafka.freePorts(6);
    int brokerPort = ports[0];
    int gatewayPort = ports[1];
    int adminPort = ports[2];
    int samplesPort = ports[3];
    int barePort = ports[4];
    Properties props = EmbeddedKafka.brokerProperties(dir.resolve("kafka"), brokerPort, ports[5]);
    EmbeddedKafka.formatIfNeeded(dir.resolve("kafka"), props);
    Path brokerConfig = dir.resolve("server.properties");
    try (OutputStream o = Files.newOutputStream(brokerConfig)) {
      props.store(o, "bench broker");
    }
    Path config = dir.resolve("conveyor.yaml");
    Files.writeString(config, """
        server: { port: %d, adminPort: %d }
        tenants:
          - name: bench
            namespaces: [bench]
            apiKeys: [ { sha256: "%s", roles: [invoke, read] } ]
        functions:
          - { namespace: bench, name: noop, url: "http://127.0.0.1:%d/echo" }
        samples: { enabled: true, port: %d }
        dispatch: { enabled: %s }
        """.formatted(gatewayPort, adminPort, sha256(KEY), samplesPort, samplesPort, dispatch));
    Buffer body = Buffer.buffer("{\"order\":\"8c2d1f\",\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1}],\"total\":42.5}");
    String path = "/v1/namespaces/bench/functions/noop/invocations";
    List<LoadGenerator.Run> runs = new ArrayList<>();
    String heap;
    System.err.printf("accept: %d connections, %d s rounds x %d, dispatcher %s%n", connections, seconds, rounds, dispatch ? "on" : "off");
    try (ChildProcess broker = ChildProcess.java("broker", "1g", Map.of(), dir.resolve("broker.log"), "kafka.Kafka", brokerConfig.toString())
             .awaitPort(brokerPort, 90);
         ChildProcess gateway = ChildProcess.java("gateway", "512m", Map.of("CONVEYOR_CONFIG", config.toString(),
                 "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + brokerPort, "CONVEYOR_DATA_DIR", dir.resolve("data").toString()),
                 dir.resolve("gateway.log"), "dev.conveyor.engine.Main", "up").awaitPort(gatewayPort, 120);
         ChildProcess bare = ChildProcess.java("bare", "512m", Map.of(), dir.resolve("bare.log"), "dev.conveyor.bench.BareServer",
             Integer.toString(barePort)).awaitPort(barePort, 60);
         LoadGenerator load = new LoadGenerator()) {
      // This box needs a long warm-up (JIT of gateway, broker and generator on 2 cores): run
      // 10 s rounds until the gateway's throughput stops rising by more than 5%, at most 15.
      System.err.println("warm-up ...");
      load.run("baseline", 0, barePort, path, KEY, body, connections, 10, 202);
      double previous = 0;
      for (int w = 1; w <= 15; w++) {
        double now = load.run("gateway", 0, gatewayPort, path, KEY, body, connections, 10, 202).throughput();
        System.err.printf("warm-up %d: gateway %.0f req/s%n", w, now);
        if (w >= 3 && now < previous * 1.05) break;
        previous = Math.max(previous, now);
      }
      for (int r = 1; r <= rounds; r++) {
        for (String target : List.of("baseline", "gateway")) {
          int port = target.equals("gateway") ? gatewayPort : barePort;
          ChildProcess server = target.equals("gateway") ? gateway : bare;
          double[] cpu0 = {server.cpuSeconds(), broker.cpuSeconds(), ChildProcess.cpuSeconds(ProcessHandle.current().pid())};
          LoadGenerator.Run run = load.run(target, r, port, path, KEY, body, connections, seconds, 202);
          double[] cpu1 = {server.cpuSeconds(), broker.cpuSeconds(), ChildProcess.cpuSeconds(ProcessHandle.current().pid())};
          runs.add(run);
          double k = run.ok() / 1000.0;
          System.err.printf("round %d %-8s %8.0f req/s  p50 %.2f ms  p99 %.2f ms  failed %d  CPU ms per 1k requests: server %.0f broker %.0f load %.0f%n",
              r, target, run.throughput(), run.latencyMicros().getValueAtPercentile(50) / 1000.0,
              run.latencyMicros().getValueAtPercentile(99) / 1000.0, run.failed(),
              (cpu1[0] - cpu0[0]) * 1000 / k, (cpu1[1] - cpu0[1]) * 1000 / k, (cpu1[2] - cpu0[2]) * 1000 / k);
        }
      }
      heap = gatewayHeap(adminPort);
    }
    JsonObject base = Report.summary(runs, "baseline");
    JsonObject gw = Report.summary(runs, "gateway");
    double ratio = gw.getLong("medianPerSecond") / (double) base.getLong("medianPerSecond");
    String command = "benchmarks/run.sh accept --connections " + connections + " --seconds " + seconds + " --rounds " + rounds
        + (dispatch ? " --with-dispatch" : "");
    JsonObject result = new JsonObject()
        .put("scenario", "accept")
        .put("when", Instant.now().toString())
        .put("command", command)
        .put("connections", connections)
        .put("dispatcher", dispatch)
        .put("machine", Runtime.getRuntime().availableProcessors() + " cores, Java " + System.getProperty("java.version"))
        .put("gatewayHeapMax", "512m")
        .put("gatewayHeapUsedAtEndMiB", heap)
        .put("baseline", base)
        .put("gateway", gw)
        .put("ratio", Math.round(ratio * 1000) / 1000.0);
    String md = """
        | accept, %d connections (%s) | requests/s (median of %d rounds) | p50 ms | p99 ms | p99.9 ms | failed |
        |---|---:|---:|---:|---:|---:|
        | bare Vert.x 202 (baseline) | %d | %.2f | %.2f | %.2f | %d |
        | Conveyor, acks=all, heap 512 MB, dispatcher %s | %d | %.2f | %.2f | %.2f | %d |
        | **ratio gateway / baseline** | **%.2f** | | | | |

        `%s` on %s.
        """.formatted(connections, result.getString("when"), rounds,
        base.getLong("medianPerSecond"), base.getDouble("p50Ms"), base.getDouble("p99Ms"), base.getDouble("p999Ms"), base.getLong("failed"),
        dispatch ? "on" : "off", gw.getLong("medianPerSecond"), gw.getDouble("p50Ms"), gw.getDouble("p99Ms"), gw.getDouble("p999Ms"),
        gw.getLong("failed"), ratio, command, result.getString("machine"));
    Report.write(out, "accept", result, md, runs);
    System.out.println(md);
  }

  private static String gatewayHeap(int adminPort) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      double used = r.body().lines().filter(l -> l.startsWith("jvm_memory_used_bytes{area=\"heap\""))
          .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
      return Long.toString(Math.round(used / (1024 * 1024)));
    } catch (Exception e) {
      return "unknown";
    }
  }

  private static String sha256(String s) throws Exception {
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
