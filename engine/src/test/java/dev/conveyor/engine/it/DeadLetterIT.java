package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_ADMIN_KEY;
import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.GLOBEX_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Dead letters are listed per tenant for role admin, and a redrive runs the same payload again. */
@Beside
class DeadLetterIT {

  @Test
  void aDeadLetterIsListedToItsTenantsAdminAndCanBeRedriven() {
    AtomicBoolean fixed = new AtomicBoolean(false);
    try (FunctionServer fn = new FunctionServer().behave(c -> fixed.get() ? Answer.ok() : new Answer(400, 0, "bad order"));
         // queued in the packed form; dead-lettered with a header per field
         Conveyor gw = Gateways.start(Gateways.packed(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("dlq"),
             "- { namespace: acme, name: orders, url: \"" + fn.url("/orders") + "\" }", null)))) {
      Http http = new Http(gw.httpPort());
      String id = new JsonObject(http.send(http.request("/v1/namespaces/acme/functions/orders/invocations", ACME_KEY)
          .header("content-type", "application/json").header("ce-type", "order.created")
          .POST(HttpRequest.BodyPublishers.ofString("{\"order\":42}")).build()).body()).getString("id");
      await().atMost(Duration.ofSeconds(20)).until(() -> "failed".equals(http.status(id, ACME_KEY).getString("status")));

      JsonObject[] listed = new JsonObject[1];
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        HttpResponse<String> r = http.get("/v1/deadletters", ACME_ADMIN_KEY);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonArray items = new JsonObject(r.body()).getJsonArray("deadletters");
        assertThat(items).hasSize(1);
        listed[0] = items.getJsonObject(0);
      });
      assertThat(listed[0].getString("id")).isEqualTo(id);
      assertThat(listed[0].getString("function")).isEqualTo("orders");
      assertThat(listed[0].getInteger("attempts")).isEqualTo(1);
      assertThat(listed[0].getInteger("httpStatus")).isEqualTo(400);

      assertThat(http.get("/v1/deadletters", ACME_KEY).statusCode()).as("role admin is required").isEqualTo(403);
      assertThat(http.get("/v1/deadletters", GLOBEX_KEY).statusCode()).isEqualTo(403);
      assertThat(http.send(http.request("/v1/deadletters/" + InvocationIds.next(System.currentTimeMillis()) + ":redrive", ACME_ADMIN_KEY)
          .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode()).isEqualTo(404);

      fixed.set(true);
      HttpResponse<String> redrive = http.send(http.request("/v1/deadletters/" + id + ":redrive", ACME_ADMIN_KEY)
          .POST(HttpRequest.BodyPublishers.noBody()).build());
      assertThat(redrive.statusCode()).isEqualTo(202);
      JsonObject again = new JsonObject(redrive.body());
      assertThat(again.getString("redriveOf")).isEqualTo(id);
      String newId = again.getString("id");
      assertThat(newId).isNotEqualTo(id);
      await().atMost(Duration.ofSeconds(20)).until(() -> "succeeded".equals(http.status(newId, ACME_KEY).getString("status")));
      assertThat(http.status(newId, ACME_KEY).getInteger("attempts")).isEqualTo(1);
      FunctionServer.Call call = fn.calls().stream().filter(c -> newId.equals(c.invocationId())).findFirst().orElseThrow();
      assertThat(call.body()).isEqualTo("{\"order\":42}");
      assertThat(call.headers().get("ce-type")).isEqualTo("order.created");
      assertThat(call.headers().get("content-type")).isEqualTo("application/json");
      assertThat(http.status(id, ACME_KEY).getString("status")).as("the dead one keeps its history").isEqualTo("failed");
    }
  }
}
