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
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The CloudEvents ingress: binary, structured and batch mode, routing, redelivery, malformed events. */
@Beside
class CloudEventsIT {

  private static HttpResponse<String> post(Http http, String key, String ns, String contentType, String body, String... headers) {
    HttpRequest.Builder b = http.request("/v1/namespaces/" + ns + "/events", key).header("content-type", contentType);
    for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    return http.send(b.POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private static String structured(String id, String type, String source, int n) {
    return new JsonObject().put("specversion", "1.0").put("id", id).put("type", type).put("source", source)
        .put("datacontenttype", "application/json").put("data", new JsonObject().put("n", n)).encode();
  }

  @Test
  void eventsInEveryModeAreRoutedQueuedOnceAndMalformedOnesRefused() {
    try (FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("ce"), """
             - { namespace: acme, name: orders, url: "%s" }
             - { namespace: acme, name: audit, url: "%s" }
             """.formatted(fn.url("/orders"), fn.url("/audit")), """
             connectors:
               - type: cloudevents
                 name: eventing-sink
                 namespace: acme
                 routes:
                   - { type: com.example.order.created, target: { namespace: acme, function: orders } }
                   - { type: com.example.audit, source: /billing, target: { namespace: acme, function: audit } }
             """))) {
      Http http = new Http(gw.httpPort());
      String[] binary = {"ce-specversion", "1.0", "ce-type", "com.example.order.created", "ce-source", "/shop", "ce-id", "b-1",
          "ce-partitionkey", "customer-7"};
      HttpResponse<String> b = post(http, ACME_KEY, "acme", "application/json", "{\"n\":1}", binary);
      assertThat(b.statusCode()).isEqualTo(202);
      String binaryId = new JsonObject(b.body()).getJsonArray("ids").getString(0);

      HttpResponse<String> s = post(http, ACME_KEY, "acme", "application/cloudevents+json",
          structured("s-1", "com.example.audit", "/billing", 2));
      assertThat(s.statusCode()).isEqualTo(202);

      HttpResponse<String> batch = post(http, ACME_KEY, "acme", "application/cloudevents-batch+json",
          "[" + structured("x-1", "com.example.order.created", "/shop", 3) + "," + structured("x-2", "com.example.order.created", "/shop", 4) + "]");
      assertThat(batch.statusCode()).isEqualTo(202);
      assertThat(new JsonObject(batch.body()).getJsonArray("ids")).hasSize(2);

      await().atMost(Duration.ofSeconds(20)).until(() -> fn.callsById().size() == 4);
      FunctionServer.Call first = fn.calls().stream().filter(c -> binaryId.equals(c.invocationId())).findFirst().orElseThrow();
      assertThat(first.path()).isEqualTo("/orders");
      assertThat(first.body()).isEqualTo("{\"n\":1}");
      assertThat(first.headers().get("ce-id")).isEqualTo("b-1");
      assertThat(first.headers().get("ce-source")).isEqualTo("/shop");
      assertThat(first.headers().get("ce-partitionkey")).isEqualTo("customer-7");
      assertThat(fn.calls().stream().filter(c -> c.path().equals("/audit")).findFirst().orElseThrow().body())
          .isEqualTo("{\"n\":2}");
      JsonObject usage = AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("invocationId").equals(binaryId), 1)
          .get(0).getJsonObject("data");
      assertThat(usage.getString("trigger")).isEqualTo("cloudevent");
      assertThat(http.status(binaryId, ACME_KEY).getString("trigger")).isEqualTo("cloudevent");

      // A Broker's redelivery of the same event (same source and id) queues nothing.
      HttpResponse<String> again = post(http, ACME_KEY, "acme", "application/json", "{\"n\":1}", binary);
      assertThat(again.statusCode()).isEqualTo(202);
      assertThat(new JsonObject(again.body()).getJsonArray("ids").getString(0)).isEqualTo(binaryId);

      HttpResponse<String> noId = post(http, ACME_KEY, "acme", "application/json", "{}",
          "ce-specversion", "1.0", "ce-type", "com.example.order.created", "ce-source", "/shop");
      assertThat(noId.statusCode()).isEqualTo(400);
      assertThat(new JsonObject(noId.body()).getString("error")).isEqualTo("invalid_cloudevent");
      assertThat(post(http, ACME_KEY, "acme", "application/cloudevents+json", "{not json").statusCode()).isEqualTo(400);
      assertThat(post(http, ACME_KEY, "acme", "application/cloudevents-batch+json", "[1, 2]").statusCode()).isEqualTo(400);
      HttpResponse<String> unrouted = post(http, ACME_KEY, "acme", "application/cloudevents+json",
          structured("u-1", "com.example.unknown", "/shop", 5));
      assertThat(unrouted.statusCode()).isEqualTo(400);
      assertThat(new JsonObject(unrouted.body()).getString("error")).isEqualTo("no_route");
      assertThat(post(http, ACME_KEY, "acme", "application/cloudevents+json", structured("u-2", "com.example.audit", "/elsewhere", 6))
          .statusCode()).as("the audit route wants source /billing").isEqualTo(400);
      assertThat(post(http, null, "acme", "application/json", "{}", binary).statusCode()).isEqualTo(401);
      assertThat(post(http, GLOBEX_KEY, "acme", "application/json", "{}", binary).statusCode()).isEqualTo(403);
      assertThat(post(http, ACME_KEY, "acme-staging", "application/json", "{}", binary).statusCode()).as("no ingress there").isEqualTo(404);

      assertThat(fn.callsById()).hasSize(4);
    }
  }
}
