package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.GLOBEX_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.LogCapture;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Rate quotas at accept time, tenant changes without a restart, and the audit of auth failures. */
@Beside
class TenancyIT {

  @Test
  void aTenantOverItsRateGets429WithAnHonestRetryAfterAndOthersAreUnaffected() {
    try (FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("rate"), """
             - { namespace: acme, name: echo, url: "%s" }
             - { namespace: globex, name: echo, url: "%s" }
             """.formatted(fn.url("/echo"), fn.url("/echo")), null)
             .replace("limits: { maxPayloadBytes: 65536 }", "limits: { maxPayloadBytes: 65536, ratePerSecond: 1, burst: 3 }"))) {
      Http http = new Http(gw.httpPort());
      // Ten invocations and a sync call as fast as one client can: a burst of 3, then 1 per second.
      long start = System.nanoTime();
      int accepted = 0;
      HttpResponse<String> refused = null;
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> r = http.invoke(ACME_KEY, "acme", "echo", "{}");
        if (r.statusCode() == 202) accepted++;
        else refused = r;
      }
      int syncStatus = http.send(http.request("/v1/namespaces/acme/functions/echo", ACME_KEY)
          .POST(HttpRequest.BodyPublishers.ofString("{}")).build()).statusCode();
      long elapsedSeconds = (System.nanoTime() - start) / 1_000_000_000L;
      int granted = accepted + (syncStatus == 200 ? 1 : 0);
      assertThat(granted).as("the burst, plus what refilled in %d s", elapsedSeconds).isBetween(3, 3 + (int) elapsedSeconds);
      assertThat(refused).isNotNull();
      assertThat(refused.statusCode()).isEqualTo(429);
      assertThat(refused.headers().firstValue("retry-after")).contains("1");
      JsonObject err = new JsonObject(refused.body());
      assertThat(err.getString("error")).isEqualTo("rate_limited");
      assertThat(err.getString("message")).contains("1 invocations per second").contains("burst 3");
      assertThat(http.invoke(GLOBEX_KEY, "globex", "echo", "{}").statusCode()).as("another tenant").isEqualTo(202);
      assertThat(new Http(gw.adminPort()).get("/metrics", null).body())
          .contains("conveyor_throttled_total{reason=\"rate\",tenant=\"acme\"} " + (11 - granted) + ".0");
      int expectedCalls = accepted + (syncStatus == 200 ? 1 : 0) + 1;
      // Refused before storing: nothing queued for the refused ones, and the accepted ones run.
      await().atMost(Duration.ofSeconds(20)).until(() -> fn.calls().size() == expectedCalls);
    }
  }

  @Test
  void aTenantWithMaxQueuedUnfinishedInvocationsGets429UntilTheyEnd() {
    // The first three calls take 5 s: the backlog stays full while the test looks at it.
    java.util.concurrent.atomic.AtomicInteger slowCalls = new java.util.concurrent.atomic.AtomicInteger();
    try (FunctionServer fn = new FunctionServer().behave(c -> new FunctionServer.Answer(200,
             c.path().equals("/slow") && slowCalls.incrementAndGet() <= 3 ? 5000 : 0, null));
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("queued"), """
             - { namespace: acme, name: slow, url: "%s" }
             - { namespace: acme, name: fast, url: "%s" }
             - { namespace: globex, name: fast, url: "%s" }
             """.formatted(fn.url("/slow"), fn.url("/fast"), fn.url("/fast")), null)
             .replace("limits: { maxPayloadBytes: 65536 }", "limits: { maxPayloadBytes: 65536, maxQueued: 3 }"))) {
      Http http = new Http(gw.httpPort());
      List<String> ids = new java.util.ArrayList<>();
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> r = http.invoke(ACME_KEY, "acme", "slow", "{}");
        assertThat(r.statusCode()).isEqualTo(202);
        ids.add(new JsonObject(r.body()).getString("id"));
      }
      HttpResponse<String> full = http.invoke(ACME_KEY, "acme", "slow", "{}");
      assertThat(full.statusCode()).isEqualTo(429);
      assertThat(new JsonObject(full.body()).getString("error")).isEqualTo("queue_full");
      assertThat(new JsonObject(full.body()).getString("message")).contains("3 invocations queued");
      assertThat(full.headers().firstValue("retry-after").map(Integer::parseInt).orElseThrow()).isBetween(1, 60);
      // Another tenant and a sync call of the same tenant are not queued work: both go on.
      assertThat(http.invoke(GLOBEX_KEY, "globex", "fast", "{}").statusCode()).isEqualTo(202);
      assertThat(http.send(http.request("/v1/namespaces/acme/functions/fast", ACME_KEY)
          .POST(HttpRequest.BodyPublishers.ofString("{}")).build()).statusCode()).isEqualTo(200);
      assertThat(new Http(gw.adminPort()).get("/metrics", null).body())
          .contains("conveyor_throttled_total{reason=\"queued\",tenant=\"acme\"} 1.0").contains("conveyor_queued{tenant=\"acme\"} 3.0");
      await().atMost(Duration.ofSeconds(20)).until(() -> ids.stream()
          .allMatch(id -> "succeeded".equals(http.status(id, ACME_KEY).getString("status"))));
      await().atMost(Duration.ofSeconds(5)).until(() -> http.invoke(ACME_KEY, "acme", "slow", "{}").statusCode() == 202);
    }
  }

  /**
   * Invocations queued when the gateway stops, and a restart with the tenants list in the other
   * order: a tenant's lanes come from its name, so the queued work runs where it is, each invocation
   * once, and a request retried with its idempotency key names the invocation it named before.
   */
  @Test
  void reorderingTheTenantsListAndRestartingLosesNothingAndRunsNothingTwice() {
    try (FunctionServer fn = new FunctionServer().behave(c -> new FunctionServer.Answer(200, 200, null))) {
      String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("reorder"), "- { namespace: acme, name: work, url: \""
          + fn.url("/work") + "\" }", null).replace("limits: { maxPayloadBytes: 65536 }",
          "limits: { maxPayloadBytes: 65536, maxConcurrency: 4, lanes: 2 }");
      int acme = yaml.indexOf("  - name: acme");
      int globex = yaml.indexOf("  - name: globex");
      int functions = yaml.indexOf("functions:");
      String reordered = yaml.substring(0, acme) + yaml.substring(globex, functions) + yaml.substring(acme, globex)
          + yaml.substring(functions);
      assertThat(reordered.indexOf("name: globex")).isLessThan(reordered.indexOf("name: acme"));
      List<String> ids = new java.util.ArrayList<>();
      Map<String, String> keyed = new java.util.HashMap<>();
      try (Conveyor gw = Gateways.start(yaml)) {
        Http http = new Http(gw.httpPort());
        for (int i = 0; i < 60; i++) {
          HttpRequest.Builder req = http.request("/v1/namespaces/acme/functions/work/invocations", ACME_KEY)
              .POST(HttpRequest.BodyPublishers.ofString("{}"));
          if (i % 10 == 0) req.header("idempotency-key", "key-" + i);
          HttpResponse<String> r = http.send(req.build());
          assertThat(r.statusCode()).isEqualTo(202);
          String id = new JsonObject(r.body()).getString("id");
          ids.add(id);
          if (i % 10 == 0) keyed.put("key-" + i, id);
        }
      } // a graceful stop: running calls end, the queued ones stay queued
      assertThat(fn.callsById().size()).as("invocations that ran before the stop").isLessThan(30);
      try (Conveyor gw = Gateways.start(reordered)) {
        Http http = new Http(gw.httpPort());
        for (var e : keyed.entrySet()) {
          HttpResponse<String> again = http.send(http.request("/v1/namespaces/acme/functions/work/invocations", ACME_KEY)
              .header("idempotency-key", e.getKey()).POST(HttpRequest.BodyPublishers.ofString("{}")).build());
          assertThat(new JsonObject(again.body()).getString("id")).as(e.getKey()).isEqualTo(e.getValue());
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> ids.stream()
            .allMatch(id -> "succeeded".equals(http.status(id, ACME_KEY).getString("status"))));
        assertThat(ids).allSatisfy(id -> assertThat(fn.callsFor(id)).as(id).isEqualTo(1));
        assertThat(fn.callsById()).hasSize(60);
      }
    }
  }

  @Test
  void tenantChangesInTheConfigFileTakeEffectWithoutARestart() throws Exception {
    Path dir = Files.createTempDirectory("conveyor-reload");
    Path file = dir.resolve("conveyor.yaml");
    try (FunctionServer fn = new FunctionServer()) {
      String original = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("reload"),
          "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", null)
          .replace("limits: { maxPayloadBytes: 65536 }", "limits: { maxPayloadBytes: 1000 }");
      Files.writeString(file, original);
      try (LogCapture log = new LogCapture();
           Conveyor gw = Conveyor.start(Gateways.config(original),
               new Conveyor.Runtime(dir.resolve("data"), 1).watching(file, Map.of()))) {
        Http http = new Http(gw.httpPort());
        String big = "{\"pad\":\"" + "x".repeat(1500) + "\"}";
        assertThat(http.invoke(ACME_KEY, "acme", "echo", big).statusCode()).isEqualTo(413);
        assertThat(http.invoke(ACME_KEY, "acme", "echo", "{}").statusCode()).isEqualTo(202);

        // A file that does not validate is refused; the running config stays.
        Files.writeString(file, original.replace("namespaces: [acme, acme-staging]", "namespaces: []"));
        await().atMost(Duration.ofSeconds(15)).until(() -> log.text().contains("refused, the running config stays"));
        assertThat(http.invoke(ACME_KEY, "acme", "echo", "{}").statusCode()).isEqualTo(202);

        // The acme key is revoked (replaced by another) and the payload limit raised.
        String next = original.replace(dev.conveyor.engine.auth.ApiKeyAuthenticator.sha256Hex(ACME_KEY),
                dev.conveyor.engine.auth.ApiKeyAuthenticator.sha256Hex("acme-rotated-key"))
            .replace("limits: { maxPayloadBytes: 1000 }", "limits: { maxPayloadBytes: 4000 }");
        Files.writeString(file, next);
        await().atMost(Duration.ofSeconds(15)).until(() -> http.invoke(ACME_KEY, "acme", "echo", "{}").statusCode() == 401);
        assertThat(http.invoke("acme-rotated-key", "acme", "echo", big).statusCode()).as("new key, raised limit").isEqualTo(202);
        assertThat(log.text()).contains("config reloaded from");

        // Every auth failure is audited, without the credential.
        JsonObject audit = log.lines().stream().filter(l -> "conveyor.audit".equals(l.getString("logger"))
            && l.getString("message").startsWith("authentication failed (unknown credential)")).findFirst().orElseThrow();
        assertThat(audit.getString("message")).contains("POST /v1/namespaces/acme/functions/echo/invocations");
        assertThat(log.text()).doesNotContain(ACME_KEY + "\"").doesNotContain("Bearer " + ACME_KEY);
      }
    }
  }
}
