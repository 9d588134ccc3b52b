package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.Ports;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Sync invoke through the same admission and metering, and the async compatibility forms. */
class SyncInvocationIT {
  static FunctionServer fn;
  static Conveyor gateway;
  static Http http;

  @BeforeAll
  static void start() {
    fn = new FunctionServer().behave(call -> switch (call.path()) {
      case "/bad" -> new Answer(400, 0, "{\"error\":\"no such order\"}");
      case "/slow" -> new Answer(200, 2000, null);
      case "/flaky" -> call.attempt() < 3 ? new Answer(503, 0, "warming up") : Answer.ok();
      case "/later" -> new Answer(503, 0, "come back in a minute", "60");
      default -> Answer.ok();
    });
    String functions = """
        - { namespace: acme, name: echo, url: "%s", memoryMiB: 512 }
        - { namespace: acme, name: bad, url: "%s" }
        - { namespace: acme, name: slow, url: "%s", delivery: { timeout: PT0.3S } }
        - { namespace: acme, name: gone, url: "http://127.0.0.1:%d/nothing-listens", delivery: { backoffDelay: PT0.05S } }
        - { namespace: acme, name: flaky, url: "%s", delivery: { retry: 3, backoffDelay: PT0.05S, timeout: PT10S } }
        - { namespace: acme, name: later, url: "%s", delivery: { retry: 3, backoffDelay: PT0.05S, timeout: PT10S } }
        """.formatted(fn.url("/echo"), fn.url("/bad"), fn.url("/slow"), Ports.free(), fn.url("/flaky"), fn.url("/later"));
    gateway = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("sync"), functions, null));
    http = new Http(gateway.httpPort());
  }

  @AfterAll
  static void stop() {
    if (gateway != null) gateway.close();
    if (fn != null) fn.close();
  }

  private static HttpResponse<String> sync(String fn, String body, String... headers) {
    HttpRequest.Builder b = http.request("/v1/namespaces/acme/functions/" + fn, ACME_KEY).header("content-type", "application/json");
    for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    return http.send(b.POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  @Test
  void aSyncInvokeAnswersWithTheFunctionsOwnResponseAndIsMetered() {
    HttpResponse<String> r = sync("echo", "{\"sync\":true}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("{\"sync\":true}");
    assertThat(r.headers().firstValue("content-type")).contains("application/json");
    String id = r.headers().firstValue("x-conveyor-invocation-id").orElseThrow();
    assertThat(fn.callsFor(id)).isEqualTo(1);
    assertThat(fn.calls().stream().filter(c -> id.equals(c.invocationId())).findFirst().orElseThrow().attempt()).isEqualTo(1);

    List<JsonObject> usage = AsyncInvocationIT.usageRecords(gateway, u -> u.getJsonObject("data").getString("invocationId").equals(id), 1);
    JsonObject data = usage.get(0).getJsonObject("data");
    assertThat(data.getString("mode")).isEqualTo("sync");
    assertThat(data.getString("outcome")).isEqualTo("success");
    assertThat(data.getInteger("memoryMiB")).isEqualTo(512);
  }

  @Test
  void aFunctionErrorIsRelayedAsIs() {
    HttpResponse<String> r = sync("bad", "{}");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).isEqualTo("{\"error\":\"no such order\"}");
  }

  @Test
  void aSlowFunctionIs504AndAnUnreachableOne502() {
    HttpResponse<String> slow = sync("slow", "{}");
    assertThat(slow.statusCode()).isEqualTo(504);
    assertThat(new JsonObject(slow.body()).getString("error")).isEqualTo("function_timeout");
    HttpResponse<String> gone = sync("gone", "{}");
    assertThat(gone.statusCode()).isEqualTo(502);
    assertThat(new JsonObject(gone.body()).getString("error")).isEqualTo("function_unreachable");
    assertThat(gone.headers().firstValue("x-conveyor-attempts")).as("unreachable is retried: retry 2 by default").contains("3");
    assertThat(slow.headers().firstValue("x-conveyor-attempts")).as("a timeout spent the budget").contains("1");
    assertThat(gone.body()).doesNotContain("Exception");
  }

  @Test
  void aSyncInvokeIsRetriedWithinItsTimeoutAndEachAttemptIsMetered() {
    HttpResponse<String> r = sync("flaky", "{\"try\":\"again\"}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("{\"try\":\"again\"}");
    assertThat(r.headers().firstValue("x-conveyor-attempts")).contains("3");
    String id = r.headers().firstValue("x-conveyor-invocation-id").orElseThrow();
    assertThat(fn.callsFor(id)).isEqualTo(3);
    List<JsonObject> usage = AsyncInvocationIT.usageRecords(gateway, u -> u.getJsonObject("data").getString("invocationId").equals(id), 3);
    assertThat(usage).extracting(u -> u.getJsonObject("data").getInteger("attempt")).containsExactlyInAnyOrder(1, 2, 3);
    assertThat(usage).extracting(u -> u.getJsonObject("data").getString("outcome")).containsExactlyInAnyOrder("error", "error", "success");
  }

  @Test
  void aRetryThatWouldNotFitTheTimeoutIsNotMadeAndTheAnswerIsRelayed() {
    // Retry-After: 60 is longer than the 10 s the caller waits: the 503 is relayed at once.
    HttpResponse<String> r = sync("later", "{}");
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("retry-after")).contains("60");
    assertThat(r.headers().firstValue("x-conveyor-attempts")).contains("1");
    assertThat(fn.callsFor(r.headers().firstValue("x-conveyor-invocation-id").orElseThrow())).isEqualTo(1);
  }

  @Test
  void syncInvokesPassTheSameAdmission() {
    assertThat(http.send(http.request("/v1/namespaces/acme/functions/nope", ACME_KEY)
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build()).statusCode()).isEqualTo(404);
    assertThat(http.send(http.request("/v1/namespaces/globex/functions/echo", ACME_KEY)
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build()).statusCode()).isEqualTo(403);
    assertThat(http.send(http.request("/v1/namespaces/acme/functions/echo", null)
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build()).statusCode()).isEqualTo(401);
  }

  @Test
  void preferRespondAsyncAndTheOpenFaasRouteEnqueueInstead() {
    HttpResponse<String> r = sync("echo", "{\"later\":1}", "prefer", "respond-async");
    assertThat(r.statusCode()).isEqualTo(202);
    String id = new JsonObject(r.body()).getString("id");
    assertThat(r.headers().firstValue("location")).contains("/v1/invocations/" + id);

    HttpResponse<String> faas = http.send(http.request("/async-function/echo", ACME_KEY)
        .POST(HttpRequest.BodyPublishers.ofString("{\"faas\":1}")).build());
    assertThat(faas.statusCode()).isEqualTo(202);
    JsonObject accepted = new JsonObject(faas.body());
    assertThat(accepted.getString("namespace")).isEqualTo("acme");

    for (String each : List.of(id, accepted.getString("id"))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(http.status(each, ACME_KEY).getString("status")));
    }
  }

  @Test
  void syncCallsCountAgainstTheTenantsMaxConcurrencyWithItsAsyncOnesAndCanBeLookedUp() {
    try (FunctionServer slow = new FunctionServer().behave(c -> new Answer(200, c.path().equals("/stuck") ? 1000 : 200, null))) {
      String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("sync-limits"),
          "- { namespace: acme, name: work, url: \"" + slow.url("/work") + "\" }\n"
          + "- { namespace: acme, name: stuck, url: \"" + slow.url("/stuck") + "\", concurrency: 1, delivery: { timeout: PT0.5S } }", null)
          .replaceFirst("limits: \\{ maxPayloadBytes: 65536 \\}", "limits: { maxPayloadBytes: 65536, maxConcurrency: 5 }");
      assertThat(yaml).contains("maxConcurrency: 5");
      try (Conveyor gw = Gateways.start(yaml)) {
        Http h = new Http(gw.httpPort());
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> calls = new java.util.ArrayList<>();
        for (int i = 0; i < 50; i++) {
          calls.add(h.sendAsync(h.request("/v1/namespaces/acme/functions/work", ACME_KEY).timeout(Duration.ofSeconds(60))
              .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"s\":" + i + "}")).build()));
        }
        List<String> async = new java.util.ArrayList<>();
        for (int i = 0; i < 10; i++) async.add(new JsonObject(h.invoke(ACME_KEY, "acme", "work", "{\"a\":" + i + "}").body()).getString("id"));
        List<HttpResponse<String>> answers = calls.stream().map(java.util.concurrent.CompletableFuture::join).toList();
        assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
        await().atMost(Duration.ofSeconds(30)).until(() -> async.stream().allMatch(i -> "succeeded".equals(h.status(i, ACME_KEY).getString("status"))));
        assertThat(slow.peakConcurrency()).as("sync and async together within maxConcurrency 5").isBetween(1, 5);
        for (HttpResponse<String> r : answers) {
          String id = r.headers().firstValue("x-conveyor-invocation-id").orElseThrow();
          JsonObject s = h.status(id, ACME_KEY);
          assertThat(s.getString("mode")).isEqualTo("sync");
          assertThat(s.getString("status")).isEqualTo("succeeded");
          assertThat(s.getInteger("attempts")).isEqualTo(1);
          assertThat(s.getJsonArray("history")).hasSize(1);
          assertThat(s.getInteger("httpStatus")).isEqualTo(200);
        }
        assertThat(h.status(async.get(0), ACME_KEY).getString("mode")).isEqualTo("async");

        // concurrency 1 and a 0.5 s wait: while one call holds the slot, the other is refused when its wait runs out.
        var first = h.sendAsync(h.request("/v1/namespaces/acme/functions/stuck", ACME_KEY).POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        var second = h.sendAsync(h.request("/v1/namespaces/acme/functions/stuck", ACME_KEY).POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        List<HttpResponse<String>> both = List.of(first.join(), second.join());
        assertThat(both).extracting(HttpResponse::statusCode).containsExactlyInAnyOrder(504, 429);
        HttpResponse<String> refused = both.stream().filter(r -> r.statusCode() == 429).findFirst().orElseThrow();
        assertThat(new JsonObject(refused.body()).getString("error")).isEqualTo("concurrency_limited");
        assertThat(refused.headers().firstValue("retry-after")).hasValue("1");
      }
    }
  }
}
