package dev.conveyor.bench;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import dev.conveyor.engine.knative.KnativeRevision;
import dev.conveyor.engine.knative.KnativeService;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

/**
 * {@code benchmarks/run.sh coldstart}: scale from zero, emulated. fabric8's mock API server (CRUD)
 * holds a Knative Service {@code cold} whose Revision has no ready replica ({@code actualReplicas:
 * 0}), and a second one, {@code warm}, with one; a local server plays both revisions behind the
 * Activator: a call to {@code cold} is held for the injected wait, then answered, as the Activator
 * holds requests while the revision scales up. For each injected wait the gateway's measured cold
 * start ({@code coldStartMs} of the status, the same figure as the usage record's and the
 * {@code cold start} span's) is compared with what was injected; the warm function's calls are the
 * baseline of what a call costs without one.
 */
final class Coldstart {
  private static final String KEY = "bench-key";
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  /** Async invocations of the warm function before anything is measured (JIT: see where it is used). */
  private static final int WARMUP = 10_000;

  private Coldstart() {}

  static void run(int calls, Path out) throws Exception {
    Path dir = Bench.workdir("conveyor-bench-coldstart");
    int[] ports = EmbeddedKafka.freePorts(5);
    int revisionPort = ports[3];
    long[] waits = {250, 500, 1000, 2000};
    AtomicLong injected = new AtomicLong();
    Vertx vertx = Vertx.vertx();
    vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      long hold = req.path().startsWith("/cold") ? injected.get() : 0;
      if (hold == 0) req.response().end("{}");
      else vertx.setTimer(hold, t -> req.response().end("{}"));
    })).listen(revisionPort).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    KubernetesMockServer api = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new KubernetesCrudDispatcher(), false);
    api.init(InetAddress.getLoopbackAddress(), 0);
    List<JsonObject> rows = new ArrayList<>();
    XYChart chart = new XYChartBuilder().width(900).height(420).title("coldstart: measured vs injected scale-from-zero wait")
        .xAxisTitle("injected wait (ms)").yAxisTitle("measured cold start (ms)").build();
    System.err.printf("coldstart: %d cold calls for each injected wait %s ms%n", calls, java.util.Arrays.toString(waits));
    try (KubernetesClient k8s = api.createClient()) {
      service(k8s, "cold", "http://127.0.0.1:" + revisionPort + "/cold", 0);
      service(k8s, "warm", "http://127.0.0.1:" + revisionPort + "/warm", 1);
      Path config = dir.resolve("gateway.yaml");
      Files.writeString(config, """
          server: { port: %d, adminPort: %d }
          kafka: { topicPrefix: "cold." }
          tenants:
          %s
          knative: { enabled: true, namespaces: [bench] }
          """.formatted(ports[1], ports[2], Bench.tenant("bench", KEY, 64)));
      Map<String, String> env = Map.of("KUBERNETES_MASTER", k8s.getMasterUrl().toString(), "KUBERNETES_AUTH_TRYKUBECONFIG", "false",
          "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false", "KUBERNETES_NAMESPACE", "bench");
      try (ChildProcess broker = Bench.broker(dir, ports[0], ports[4]);
           ChildProcess gateway = Bench.gateway(dir, "gateway", config, ports[0], ports[1], "dev.conveyor.engine.Main", env)) {
        String base = "http://127.0.0.1:" + ports[1];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (post(base + "/v1/namespaces/bench/functions/warm") != 200) { // discovery through the informer
          if (System.nanoTime() > deadline) throw new IllegalStateException("the gateway did not discover the Knative services");
          Thread.sleep(200); // polling the gateway's discovery during set-up, outside any measurement
        }
        // Warm-up: a gateway just started runs its first thousands of requests in the interpreter, where
        // an attempt on this machine took 5-6 ms instead of under 1 (20 calls of warm-up measured that).
        // Every warm-up invocation is followed to its end, so none is still running when measuring starts.
        List<String> warmUp = new ArrayList<>();
        for (int i = 0; i < WARMUP; i++) warmUp.add(submit(base, "warm"));
        for (String id : warmUp) follow(base, "warm", id);
        List<Double> warm = new ArrayList<>();
        for (int i = 0; i < calls; i++) warm.add((double) invoke(base, "warm").getLong("durationMs"));
        rows.add(row("warm (baseline: no scale from zero)", 0, warm, List.of()));
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        try (me.tongfei.progressbar.ProgressBar bar = new me.tongfei.progressbar.ProgressBarBuilder().setTaskName("cold starts")
            .setInitialMax((long) calls * waits.length).setStyle(me.tongfei.progressbar.ProgressBarStyle.ASCII)
            .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build()) {
          for (long w : waits) {
            injected.set(w);
            List<Double> measured = new ArrayList<>();
            List<Double> durations = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
              JsonObject s = invoke(base, "cold");
              if (!s.getBoolean("coldStart", false)) throw new IllegalStateException("a call to the revision at zero was not cold: " + s);
              measured.add((double) s.getLong("coldStartMs"));
              durations.add((double) s.getLong("durationMs"));
              xs.add((double) w);
              ys.add((double) s.getLong("coldStartMs"));
              bar.step();
            }
            rows.add(row("cold, " + w + " ms injected", w, durations, measured));
          }
        }
        chart.addSeries("measured", xs, ys);
        chart.addSeries("injected (y = x)", List.of(0.0, (double) waits[waits.length - 1]), List.of(0.0, (double) waits[waits.length - 1]));
      }
    } finally {
      api.destroy();
      vertx.close();
    }
    String command = "benchmarks/run.sh coldstart --calls " + calls;
    JsonObject result = new JsonObject().put("scenario", "coldstart").put("when", Instant.now().toString()).put("command", command)
        .put("machine", Bench.machine()).put("callsPerWait", calls).put("rows", new JsonArray(rows));
    StringBuilder md = new StringBuilder("| coldstart (" + result.getString("when") + ") | injected ms | measured cold start p50 ms | "
        + "min | max | error p50 ms | attempt duration p50 ms |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (JsonObject r : rows) {
      md.append("| %s | %d | %s | %s | %s | %s | %.0f |%n".formatted(r.getString("case"), r.getLong("injectedMs"),
          r.containsKey("measuredP50Ms") ? "%.0f".formatted(r.getDouble("measuredP50Ms")) : "-",
          r.containsKey("measuredMinMs") ? "%.0f".formatted(r.getDouble("measuredMinMs")) : "-",
          r.containsKey("measuredMaxMs") ? "%.0f".formatted(r.getDouble("measuredMaxMs")) : "-",
          r.containsKey("errorP50Ms") ? "%+.0f".formatted(r.getDouble("errorP50Ms")) : "-", r.getDouble("durationP50Ms")));
    }
    md.append("\n").append(calls).append(" calls per row. `").append(command).append("` on ").append(result.getString("machine")).append(".\n");
    Files.createDirectories(out);
    Files.writeString(out.resolve("coldstart.json"), result.encodePrettily() + "\n");
    Files.writeString(out.resolve("coldstart.md"), md);
    BitmapEncoder.saveBitmap(chart, out.resolve("coldstart.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    System.out.println(md);
  }

  private static JsonObject row(String name, long injectedMs, List<Double> durations, List<Double> measured) {
    JsonObject r = new JsonObject().put("case", name).put("injectedMs", injectedMs).put("durationP50Ms", median(durations));
    if (!measured.isEmpty()) {
      r.put("measuredP50Ms", median(measured)).put("measuredMinMs", measured.stream().mapToDouble(d -> d).min().orElse(0))
          .put("measuredMaxMs", measured.stream().mapToDouble(d -> d).max().orElse(0)).put("errorP50Ms", median(measured) - injectedMs);
    }
    return r;
  }

  private static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    s.sort(Double::compare);
    return s.get(s.size() / 2);
  }

  /** An async invocation of {@code fn}, followed to its end (bounded); its status object. */
  private static JsonObject invoke(String base, String fn) throws Exception {
    return follow(base, fn, submit(base, fn));
  }

  /** An async invocation of {@code fn}: its id once accepted. */
  private static String submit(String base, String fn) throws Exception {
    HttpResponse<String> accepted = HTTP.send(request(base + "/v1/namespaces/bench/functions/" + fn + "/invocations")
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    if (accepted.statusCode() != 202) throw new IllegalStateException(fn + ": " + accepted.statusCode() + " " + accepted.body());
    return new JsonObject(accepted.body()).getString("id");
  }

  /** The status object of invocation {@code id} once it succeeded (bounded). */
  private static JsonObject follow(String base, String fn, String id) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      JsonObject s = new JsonObject(HTTP.send(request(base + "/v1/invocations/" + id).GET().build(),
          HttpResponse.BodyHandlers.ofString()).body());
      if ("succeeded".equals(s.getString("status"))) return s;
      if ("failed".equals(s.getString("status"))) throw new IllegalStateException(fn + " failed: " + s);
      Thread.sleep(20); // polling the status API for the outcome; the figures come from the gateway, not this clock
    }
    throw new IllegalStateException(fn + " " + id + " did not finish within 60 s");
  }

  private static int post(String url) throws Exception {
    return HTTP.send(request(url).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static HttpRequest.Builder request(String url) {
    return HttpRequest.newBuilder(URI.create(url)).header("authorization", "Bearer " + KEY).header("content-type", "application/json");
  }

  /** A Knative Service at {@code url} with one Revision of {@code ready} replicas and 256Mi. */
  private static void service(KubernetesClient k8s, String name, String url, int ready) {
    KnativeService svc = new KnativeService();
    svc.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("bench").build());
    KnativeService.Status st = new KnativeService.Status();
    st.url = "http://" + name + ".bench.example.com";
    st.address = new KnativeService.Address();
    st.address.url = url;
    st.latestReadyRevisionName = name + "-00001";
    st.latestCreatedRevisionName = name + "-00001";
    svc.setStatus(st);
    k8s.resources(KnativeService.class).inNamespace("bench").resource(svc).create();
    KnativeRevision rev = new KnativeRevision();
    rev.setMetadata(new ObjectMetaBuilder().withName(name + "-00001").withNamespace("bench").build());
    KnativeRevision.Spec spec = new KnativeRevision.Spec();
    spec.containers = List.of(new ContainerBuilder().withName("user-container").withNewResources()
        .addToLimits("memory", new Quantity("256Mi")).endResources().build());
    rev.setSpec(spec);
    KnativeRevision.Status rs = new KnativeRevision.Status();
    rs.actualReplicas = ready;
    rev.setStatus(rs);
    k8s.resources(KnativeRevision.class).inNamespace("bench").resource(rev).create();
  }
}
