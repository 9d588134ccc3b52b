package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.Ports;
import dev.conveyor.engine.testing.TestKafka;
import java.io.File;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A real Prometheus (Debian's package; .ci/run installs it) scrapes the gateway's /metrics, and
 * evaluates every query of the Grafana dashboard: each must be valid PromQL, and Conveyor's own
 * series must come back with the values the gateway produced.
 */
@Beside
class PrometheusIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void prometheusScrapesTheGatewayAndEveryDashboardQueryIsValid() throws Exception {
    String binary = prometheusBinary();
    if (System.getenv("CONVEYOR_REQUIRE_PROMETHEUS") == null) {
      Assumptions.assumeTrue(binary != null, "prometheus is not installed (apt-get install prometheus); .ci/run installs it");
    }
    assertThat(binary).as("prometheus on the PATH").isNotNull();
    Path dir = Files.createTempDirectory("conveyor-prometheus");
    try (FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("prom"),
             "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", null))) {
      Http http = new Http(gw.httpPort());
      for (int i = 0; i < 5; i++) assertThat(http.invoke(ACME_KEY, "acme", "echo", "{}").statusCode()).isEqualTo(202);

      int port = Ports.free();
      Files.writeString(dir.resolve("prometheus.yml"), """
          global: { scrape_interval: 1s, evaluation_interval: 1s }
          scrape_configs:
            - job_name: conveyor
              metrics_path: /metrics
              static_configs: [ { targets: ["127.0.0.1:%d"] } ]
          """.formatted(gw.adminPort()));
      Process prometheus = new ProcessBuilder(binary, "--config.file=" + dir.resolve("prometheus.yml"),
          "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
          .redirectErrorStream(true).redirectOutput(new File("target/prometheus.log")).start();
      try {
        HttpClient client = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + port;
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
          JsonNode targets = get(client, base + "/api/v1/targets").path("data").path("activeTargets");
          return targets.size() == 1 && "up".equals(targets.get(0).path("health").asText());
        });
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
            query(client, base, "sum(conveyor_invocations_accepted_total{tenant=\"acme\"})").path("data").path("result")
                .path(0).path("value").path(1).asDouble() == 5.0);

        // The gauges the alerts read (deploy/monitoring/alerts): a ready replica with its status reader up.
        for (String gauge : new String[] {"conveyor_ready", "conveyor_status_reader_up"}) {
          JsonNode v = query(client, base, gauge).path("data").path("result");
          assertThat(v.size()).as(gauge).isEqualTo(1);
          assertThat(v.path(0).path("value").path(1).asDouble()).as(gauge).isEqualTo(1.0);
        }
        JsonNode dash = JSON.readTree(Path.of("..", "deploy", "monitoring", "grafana-dashboard.json").toFile());
        int checked = 0;
        for (JsonNode p : dash.path("panels")) {
          for (JsonNode t : p.path("targets")) {
            String expr = t.path("expr").asText().replace("$namespace", ".*").replace("$service", ".*");
            JsonNode r = query(client, base, expr);
            assertThat(r.path("status").asText()).as(p.path("title").asText() + ": " + expr + " -> " + r).isEqualTo("success");
            checked++;
          }
        }
        assertThat(checked).isGreaterThanOrEqualTo(10);
        JsonNode accepted = query(client, base,
            "sum by (kn_service_name) (conveyor_invocations_accepted_total{k8s_namespace_name=~\".*\", kn_service_name=~\".*\"})");
        assertThat(accepted.path("data").path("result").path(0).path("metric").path("kn_service_name").asText()).isEqualTo("echo");
      } finally {
        prometheus.destroy();
        if (!prometheus.waitFor(20, TimeUnit.SECONDS)) prometheus.destroyForcibly();
      }
    }
  }

  private static JsonNode query(HttpClient client, String base, String promql) throws Exception {
    return get(client, base + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
  }

  private static JsonNode get(HttpClient client, String url) throws Exception {
    HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    return JSON.readTree(r.body());
  }

  private static String prometheusBinary() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      File f = new File(dir, "prometheus");
      if (f.canExecute()) return f.getPath();
    }
    return null;
  }
}
