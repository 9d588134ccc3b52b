package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.BrokerProcess;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Accepted means stored: with the broker stopped, invocations get 503 and never a 202; once the
 * broker is back the gateway becomes ready again by itself, and whatever did get a 202 runs.
 */
class BrokerDownIT {

  @Test
  void nothingIsAcknowledgedWhileTheBrokerIsDownAndTheGatewayRecoversByItself() throws Exception {
    try (BrokerProcess broker = new BrokerProcess(Files.createTempDirectory("conveyor-broker")).start();
         FunctionServer fn = new FunctionServer()) {
      String functions = "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }";
      try (Conveyor gw = Gateways.start(Gateways.yaml(broker.bootstrap(), Gateways.prefix("down"), functions, null))) {
        Http http = new Http(gw.httpPort());
        Http admin = new Http(gw.adminPort());
        HttpResponse<String> before = http.invoke(ACME_KEY, "acme", "echo", "{}");
        assertThat(before.statusCode()).isEqualTo(202);

        broker.kill();
        // Requests racing the outage: each is either stored (202) or refused (503), nothing else.
        List<CompletableFuture<HttpResponse<String>>> racing = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          racing.add(http.sendAsync(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
              .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build()));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> admin.get("/readyz", null).statusCode() == 503);
        assertThat(new JsonObject(admin.get("/readyz", null).body()).getString("status")).isEqualTo("not ready");

        for (int i = 0; i < 20; i++) {
          HttpResponse<String> r = http.invoke(ACME_KEY, "acme", "echo", "{\"during\":" + i + "}");
          assertThat(r.statusCode()).isEqualTo(503);
          assertThat(new JsonObject(r.body()).getString("error")).isEqualTo("kafka_unavailable");
          assertThat(r.headers().firstValue("retry-after")).isPresent();
        }
        // What the alerts read: not ready, and every one of those answers counted by its code.
        String down = admin.get("/metrics", null).body();
        assertThat(down).contains("conveyor_ready 0.0");
        assertThat(sample(down, "conveyor_accept_failures_total{code=\"kafka_unavailable\"}")).isGreaterThanOrEqualTo(20);
        List<String> racedIn = new ArrayList<>();
        for (var f : racing) {
          HttpResponse<String> r = f.get();
          assertThat(r.statusCode()).isIn(202, 503);
          if (r.statusCode() == 202) racedIn.add(new JsonObject(r.body()).getString("id"));
        }

        broker.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> admin.get("/readyz", null).statusCode() == 200);
        assertThat(admin.get("/metrics", null).body()).contains("conveyor_ready 1.0", "conveyor_status_reader_up 1.0");
        HttpResponse<String> after = http.invoke(ACME_KEY, "acme", "echo", "{}");
        assertThat(after.statusCode()).isEqualTo(202);
        List<String> mustRun = new ArrayList<>(racedIn);
        mustRun.add(new JsonObject(before.body()).getString("id"));
        mustRun.add(new JsonObject(after.body()).getString("id"));
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
          for (String id : mustRun) assertThat(http.status(id, ACME_KEY).getString("status")).as(id).isEqualTo("succeeded");
        });
        assertThat(fn.calls().stream().filter(c -> c.body().contains("during"))).isEmpty();
      }
    }
  }

  /** The value of the series {@code series} (name and labels as printed) in Prometheus text; -1 when absent. */
  private static double sample(String text, String series) {
    for (String line : text.split("\n")) {
      if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1).trim());
    }
    return -1;
  }
}
