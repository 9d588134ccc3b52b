package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.GLOBEX_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two replicas on the same topics, both accept-only, so what one accepts stays queued: the other
 * finds it (status, cancel) without ever having seen it, and idempotency keys hold across them.
 */
@Beside
class MultiReplicaIT {
  static FunctionServer fn;
  static Conveyor a;
  static Conveyor b;
  static Http httpA;
  static Http httpB;

  @BeforeAll
  static void start() {
    fn = new FunctionServer();
    String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("replicas"),
        "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", null)
        .replace("dispatch: { group:", "dispatch: { enabled: false, group:");
    a = Gateways.start(yaml);
    b = Gateways.start(yaml);
    httpA = new Http(a.httpPort());
    httpB = new Http(b.httpPort());
  }

  @AfterAll
  static void stop() {
    if (a != null) a.close();
    if (b != null) b.close();
    if (fn != null) fn.close();
  }

  @Test
  void aQueuedInvocationAcceptedByOneReplicaIsVisibleAndCancellableOnTheOther() {
    String id = new JsonObject(httpA.invoke(ACME_KEY, "acme", "echo", "{}").body()).getString("id");

    JsonObject seenByB = httpB.status(id, ACME_KEY);
    assertThat(seenByB.getString("status")).isEqualTo("queued");
    assertThat(seenByB.getString("function")).isEqualTo("echo");
    assertThat(httpB.get("/v1/invocations/" + id, GLOBEX_KEY).statusCode()).isEqualTo(404);
    assertThat(httpB.get("/v1/invocations/" + id + "/result", ACME_KEY).statusCode()).isEqualTo(202);

    HttpResponse<String> cancel = httpB.send(httpB.request("/v1/invocations/" + id, ACME_KEY).DELETE().build());
    assertThat(cancel.statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> "cancelled".equals(httpA.status(id, ACME_KEY).getString("status")));
    assertThat(fn.callsFor(id)).isZero();
  }

  @Test
  void anIdNobodyAcceptedIsNotFoundOnAnyReplica() {
    String never = InvocationIds.next(System.currentTimeMillis());
    assertThat(httpB.get("/v1/invocations/" + never, ACME_KEY).statusCode()).isEqualTo(404);
    assertThat(httpA.get("/v1/invocations/" + never, ACME_KEY).statusCode()).isEqualTo(404);
  }

  @Test
  void anIdempotencyKeyHoldsAcrossReplicas() {
    HttpRequest.Builder req = httpA.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .header("idempotency-key", "across-replicas").POST(HttpRequest.BodyPublishers.ofString("{}"));
    String id = new JsonObject(httpA.send(req.build()).body()).getString("id");
    // The key reaches B through the status topic, milliseconds later (the window is documented).
    await().atMost(Duration.ofSeconds(10))
        .until(() -> b.statusStore().idempotent("acme", "acme", "echo", "across-replicas").isPresent());
    HttpResponse<String> onB = httpB.send(httpB.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .header("idempotency-key", "across-replicas").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
    assertThat(new JsonObject(onB.body()).getString("id")).isEqualTo(id);
    assertThat(onB.headers().firstValue("idempotent-replayed")).contains("true");
  }
}
