package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.KnativeFixtures;
import dev.conveyor.engine.testing.Lanes;
import dev.conveyor.engine.testing.OtlpReceiver;
import dev.conveyor.engine.testing.RevisionEmulator;
import dev.conveyor.engine.testing.RevisionEmulator.Knobs;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.opentelemetry.proto.trace.v1.Span;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceAccessMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A cold start as the real Activator makes it: the request is held 40 s (longer than the default 30 s
 * attempt timeout, shorter than the revision's timeoutSeconds) until a pod is ready, by a
 * {@link dev.conveyor.engine.testing.RevisionEmulator}. The test is mostly a wait, so it runs beside
 * the other integration tests ({@code junit-platform.properties}); its figures allow for that.
 */
@EnableKubernetesMockClient(crud = true)
@Order(Lanes.FIRST)
@Execution(ExecutionMode.CONCURRENT)
@ResourceLock(value = Lanes.BESIDE, mode = ResourceAccessMode.READ) // beside the sequence and CrashIT (Lanes)
class ColdStartHoldIT {
  static KubernetesClient client;

  @Test
  void aColdStartHeldLongerThanTheAttemptTimeoutIsOneAttemptWithTheHoldAsItsColdStart() {
    KnativeFixtures k = new KnativeFixtures(client, "acme");
    // The Activator holds calls 40 s (> the default 30 s attempt timeout, < timeoutSeconds 300) until a pod is ready.
    try (OtlpReceiver otlp = new OtlpReceiver();
         RevisionEmulator rev = new RevisionEmulator(Knobs.of(0, 300_000).readinessDelay(40_000), 0, false)
             .behave(c -> new Answer(200, 50, null)).onScale(n -> k.scale("hold-00001", n))) {
      k.service("hold", rev.url(), "hold-00001", Map.of());
      k.revision("hold-00001", 0, "512Mi");
      try (Conveyor gw = KnativeIT.gateway(client, "knative-hold", otlp)) {
        Http http = new Http(gw.httpPort());
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.functions().find("acme", "hold").map(t -> t.scaledToZero()).orElse(false));
        String id = KnativeIT.id(http.invoke(ACME_KEY, "acme", "hold", "{\"async\":1}"));
        CompletableFuture<HttpResponse<String>> sync = http.sendAsync(http.request("/v1/namespaces/acme/functions/hold", ACME_KEY)
            .timeout(Duration.ofSeconds(120)).header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"sync\":1}")).build());

        await().atMost(Duration.ofSeconds(90)).until(() -> "succeeded".equals(http.status(id, ACME_KEY).getString("status")));
        HttpResponse<String> syncAnswer = sync.join();
        assertThat(syncAnswer.statusCode()).as(syncAnswer.body()).isEqualTo(200);
        assertThat(syncAnswer.body()).isEqualTo("{\"sync\":1}");
        String syncId = syncAnswer.headers().firstValue("x-conveyor-invocation-id").orElseThrow();

        List<Long> held = rev.heldMs();
        assertThat(held).hasSize(2).allMatch(ms -> ms >= 39_000, "held about 40 s");
        assertThat(rev.activatorTimeouts()).isZero();
        assertThat(rev.functionCalls()).as("one call each: nothing was cut and retried").isEqualTo(2);
        JsonObject s = http.status(id, ACME_KEY);
        assertThat(s.getInteger("attempts")).isEqualTo(1);
        assertThat(s.getInteger("platformDelays")).isZero();
        assertThat(s.getBoolean("coldStart")).isTrue();
        List<Long> coldMs = new ArrayList<>();
        for (String inv : List.of(id, syncId)) {
          List<JsonObject> usage = AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("invocationId").equals(inv), 1);
          assertThat(usage).hasSize(1);
          JsonObject data = usage.get(0).getJsonObject("data");
          assertThat(data.getString("mode")).isEqualTo(inv.equals(id) ? "async" : "sync");
          assertThat(data.getBoolean("coldStart")).isTrue();
          assertThat(data.getInteger("attempt")).isEqualTo(1);
          assertThat(data.getString("outcome")).isEqualTo("success");
          long hold = Math.min(held.get(0), held.get(1));
          assertThat(data.getLong("coldStartMs")).as("within 1 s of the %d ms hold", Math.max(held.get(0), held.get(1)))
              .isBetween(Math.min(held.get(0), held.get(1)) - 1000, Math.max(held.get(0), held.get(1)) + 1000);
          assertThat(hold).isPositive();
          coldMs.add(data.getLong("coldStartMs"));
        }
        System.out.printf("ColdStartHoldIT: held %s ms at the Activator; coldStartMs async %d, sync %d%n", held, coldMs.get(0), coldMs.get(1));
        assertThat(new JsonObject(http.status(id, ACME_KEY).encode()).getLong("coldStartMs")).isGreaterThanOrEqualTo(39_000);

        // One cold start span per call, as long as the hold, under its attempt's span.
        await().atMost(Duration.ofSeconds(20)).until(() -> otlp.all("cold start hold").size() == 2);
        for (Span cold : otlp.all("cold start hold")) {
          long ms = (cold.getEndTimeUnixNano() - cold.getStartTimeUnixNano()) / 1_000_000;
          assertThat(ms).isBetween(39_000L, 42_000L);
          Span invoke = otlp.all("invoke hold").stream().filter(x -> x.getSpanId().equals(cold.getParentSpanId())).findFirst().orElseThrow();
          assertThat(invoke.getAttributesList()).anyMatch(a -> a.getKey().equals("faas.coldstart") && a.getValue().getBoolValue());
        }
        assertThat(otlp.all("invoke hold")).as("one attempt span each").hasSize(2);
        assertThat(new Http(gw.adminPort()).get("/metrics", null).body()).doesNotContain("conveyor_retries_total{k8s_namespace_name=\"acme\",kn_service_name=\"hold\"");
      }
    }
  }
}
