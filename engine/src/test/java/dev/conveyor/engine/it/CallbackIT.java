package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.GLOBEX_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.callback.CallbackSender;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** X-Callback-Url: the result is POSTed signed, retried until the receiver says 2xx; only to allowed URLs. */
@Beside
class CallbackIT {
  private static final String SECRET = "a-callback-secret-for-acme-0001";

  @Test
  void theResultIsPostedSignedAndRetriedAndOnlyToAllowedUrls() {
    AtomicInteger hookCalls = new AtomicInteger();
    try (FunctionServer fn = new FunctionServer();
         FunctionServer receiver = new FunctionServer().behave(c -> hookCalls.incrementAndGet() <= 2 ? new Answer(500, 0, "busy") : Answer.ok())) {
      String allowed = receiver.url("/");
      String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("callback"),
              "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }\n"
                  + "- { namespace: globex, name: echo, url: \"" + fn.url("/echo") + "\" }", null)
          .replace("    limits: { maxPayloadBytes: 65536 }",
              "    limits: { maxPayloadBytes: 65536 }\n    callbacks: { allow: [\"" + allowed + "\"], secret: \"" + SECRET + "\" }");
      try (Conveyor gw = Gateways.start(yaml)) {
        Http http = new Http(gw.httpPort());
        HttpResponse<String> r = http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
            .header("content-type", "application/json").header("x-callback-url", receiver.url("/hook"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"call\":\"me back\"}")).build());
        assertThat(r.statusCode()).isEqualTo(202);
        String id = new JsonObject(r.body()).getString("id");

        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.callsFor(id) == 3);
        FunctionServer.Call last = receiver.calls().get(receiver.calls().size() - 1);
        assertThat(last.path()).isEqualTo("/hook");
        assertThat(last.body()).isEqualTo("{\"call\":\"me back\"}");
        assertThat(last.headers().get("x-conveyor-status")).isEqualTo("succeeded");
        assertThat(last.headers().get("x-function-status")).isEqualTo("200");
        assertThat(last.headers().get("content-type")).isEqualTo("application/json");
        String signature = last.headers().get("x-conveyor-signature");
        long t = Long.parseLong(signature.substring(2, signature.indexOf(',')));
        String v1 = signature.substring(signature.indexOf("v1=") + 3);
        assertThat(v1).isEqualTo(CallbackSender.sign(SECRET, t, last.body().getBytes(StandardCharsets.UTF_8)));
        assertThat(v1).isNotEqualTo(CallbackSender.sign("another-secret-entirely-xxxxxxx", t, last.body().getBytes(StandardCharsets.UTF_8)));

        HttpResponse<String> metadata = http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
            .header("x-callback-url", "http://169.254.169.254/latest/meta-data").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(metadata.statusCode()).isEqualTo(403);
        assertThat(new JsonObject(metadata.body()).getString("error")).isEqualTo("callback_not_allowed");
        HttpResponse<String> garbage = http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
            .header("x-callback-url", "not a url").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(garbage.statusCode()).isEqualTo(400);
        HttpResponse<String> otherTenant = http.send(http.request("/v1/namespaces/globex/functions/echo/invocations", GLOBEX_KEY)
            .header("x-callback-url", receiver.url("/hook")).POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(otherTenant.statusCode()).as("globex has no allow-list").isEqualTo(403);
      }
    }
  }

  @Test
  void destinationsReceiveAnInvocationRecordOnATopicOrAnAllowedUrl() {
    try (FunctionServer fn = new FunctionServer().behave(c -> c.path().equals("/bad") ? new Answer(400, 0, "{\"error\":\"no\"}") : Answer.ok());
         FunctionServer receiver = new FunctionServer()) {
      String prefix = Gateways.prefix("dest");
      String yaml = Gateways.yaml(TestKafka.bootstrap(), prefix, """
              - { namespace: acme, name: ok, url: "%s", delivery: { onSuccess: { topic: "%sdone" } } }
              - { namespace: acme, name: bad, url: "%s", delivery: { onFailure: { url: "%s" }, deadLetter: { topic: "%sbad.dead" } } }
              """.formatted(fn.url("/ok"), prefix, fn.url("/bad"), receiver.url("/failures"), prefix), null)
          .replace("    limits: { maxPayloadBytes: 65536 }",
              "    limits: { maxPayloadBytes: 65536 }\n    callbacks: { allow: [\"" + receiver.url("/") + "\"], secret: \"" + SECRET + "\" }");
      try (Conveyor gw = Gateways.start(yaml)) {
        Http http = new Http(gw.httpPort());
        String ok = new JsonObject(http.invoke(ACME_KEY, "acme", "ok", "{\"n\":1}").body()).getString("id");
        String bad = new JsonObject(http.invoke(ACME_KEY, "acme", "bad", "{\"n\":2}").body()).getString("id");

        var onTopic = AsyncInvocationIT.records(prefix + "done", r -> ok.equals(r.key()), 1).get(0);
        JsonObject success = new JsonObject(onTopic.value());
        assertThat(success.getJsonObject("requestContext").getString("condition")).isEqualTo("Success");
        assertThat(success.getJsonObject("requestContext").getInteger("approximateInvokeCount")).isEqualTo(1);
        assertThat(success.getJsonObject("requestPayload").getInteger("n")).isEqualTo(1);
        assertThat(success.getJsonObject("responseContext").getInteger("statusCode")).isEqualTo(200);

        await().atMost(Duration.ofSeconds(20)).until(() -> receiver.callsFor(bad) == 1);
        FunctionServer.Call call = receiver.calls().get(0);
        JsonObject failure = new JsonObject(call.body());
        assertThat(failure.getJsonObject("requestContext").getString("condition")).isEqualTo("NotRetryable");
        assertThat(failure.getJsonObject("responseContext").getInteger("statusCode")).isEqualTo(400);
        assertThat(failure.getJsonObject("responsePayload").getString("error")).isEqualTo("no");
        assertThat(call.headers().get("x-conveyor-signature")).startsWith("t=");
        // The function's own dead-letter topic was created at start-up and holds the failure.
        var dead = AsyncInvocationIT.records(prefix + "bad.dead", r -> bad.equals(r.key()), 1).get(0);
        assertThat(new String(dead.headers().lastHeader("knativeerrorcode").value())).isEqualTo("400");
      }
    }
  }
}
