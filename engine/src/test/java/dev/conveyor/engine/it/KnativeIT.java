package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.KnativeFixtures;
import dev.conveyor.engine.testing.KnativeFixtures.Route;
import dev.conveyor.engine.testing.OtlpReceiver;
import dev.conveyor.engine.testing.RevisionEmulator;
import dev.conveyor.engine.testing.RevisionEmulator.Knobs;
import dev.conveyor.engine.testing.TestKafka;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Knative as it behaves: fabric8's mock API server (CRUD mode) holds Services and Revisions shaped as
 * knative/serving's controllers write them, and a {@link RevisionEmulator} behind each Service URL
 * behaves as the Activator and queue-proxy do (held cold starts, 504 after timeoutSeconds, queue-proxy's
 * 503 beyond 11 × containerConcurrency per pod). What the platform does must never spend the user's
 * retries or feed the breaker, and is bounded. (A held cold start: {@link ColdStartHoldIT}.)
 */
@EnableKubernetesMockClient(crud = true)
class KnativeIT {
  static KubernetesClient client;

  static Conveyor gateway(KubernetesClient client, String name, OtlpReceiver otlp) {
    String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix(name), "[]", "knative: { enabled: true, namespaces: [acme] }");
    return otlp == null ? Gateways.start(yaml, client) : Gateways.start(yaml, client, otlp.otel());
  }

  @Test
  void aRevisionThatNeverBecomesReadySpendsThePlatformBudgetNeverTheUsersRetries() {
    KnativeFixtures k = new KnativeFixtures(client, "acme");
    try (RevisionEmulator rev = new RevisionEmulator(Knobs.of(0, 1_000).neverReady(), 0, false)) {
      k.service("never", rev.url(), "never-00001", Map.of("conveyor.dev/retry", "3", "conveyor.dev/backoff-delay", "PT0.05S",
          "conveyor.dev/platform-retries", "2"));
      k.revision("never-00001", 0, "256Mi", 0, 1);
      try (Conveyor gw = gateway(client, "knative-never", null)) {
        Http http = new Http(gw.httpPort());
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.functions().find("acme", "never").isPresent());
        String id = id(http.invoke(ACME_KEY, "acme", "never", "{}"));
        await().atMost(Duration.ofSeconds(60)).until(() -> "failed".equals(http.status(id, ACME_KEY).getString("status")));
        JsonObject s = http.status(id, ACME_KEY);
        assertThat(s.getString("lastError")).contains("revision never-00001 did not become ready").contains("gave up after 3");
        assertThat(s.getInteger("attempts")).as("retry untouched: nothing reached the function").isZero();
        assertThat(s.getInteger("platformDelays")).isEqualTo(3);
        assertThat(s.getInteger("httpStatus")).isEqualTo(504);
        assertThat(rev.activatorTimeouts()).isEqualTo(3);
        assertThat(rev.functionCalls()).isZero();

        HttpResponse<String> sync = http.send(http.request("/v1/namespaces/acme/functions/never", ACME_KEY).timeout(Duration.ofSeconds(60))
            .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
        assertThat(sync.statusCode()).isEqualTo(503);
        assertThat(new JsonObject(sync.body()).getString("error")).isEqualTo("revision_not_ready");
        assertThat(sync.headers().firstValue("retry-after")).isPresent();
        String metrics = new Http(gw.adminPort()).get("/metrics", null).body();
        assertThat(metrics).as("no attempt, no usage, no breaker verdict")
            .doesNotContain("conveyor_attempts_total{k8s_namespace_name=\"acme\",kn_revision_name=\"never-00001\"")
            .contains("conveyor_circuit_state{k8s_namespace_name=\"acme\",kn_service_name=\"never\"} 0.0");
      }
    }
  }

  @Test
  void containerConcurrencyBoundsWhatIsSentSoQueueProxyNeverTurnsACallAway() {
    KnativeFixtures k = new KnativeFixtures(client, "acme");
    // containerConcurrency 1 on 2 pods, the Activator out of the path: queue-proxy takes 1 running + 10 waiting per pod.
    try (RevisionEmulator rev = new RevisionEmulator(Knobs.of(1, 300_000).activatorOutOfPath(), 2, false)
        .behave(c -> new Answer(200, 10, null))) {
      k.service("narrow", rev.url(), "narrow-00001", Map.of("conveyor.dev/retry", "5"));
      k.revision("narrow-00001", 2, "128Mi", 1, 300);
      try (Conveyor gw = gateway(client, "knative-cc", null)) {
        Http http = new Http(gw.httpPort());
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.functions().find("acme", "narrow").isPresent());
        List<String> ids = invokeMany(http, "narrow", 200);
        await().atMost(Duration.ofSeconds(60)).until(() -> ids.stream().allMatch(i -> "succeeded".equals(http.status(i, ACME_KEY).getString("status"))));
        assertThat(ids).allMatch(i -> http.status(i, ACME_KEY).getInteger("attempts") == 1);
        assertThat(rev.queueFull()).as("queue-proxy never overflowed").isZero();
        assertThat(rev.peakRunningPerPod()).isEqualTo(1);
        assertThat(rev.peakWaitingPerPod()).as("within queue-proxy's 10 × containerConcurrency").isLessThanOrEqualTo(10);
      }
    }
  }

  @Test
  void anOverloadedWarmRevisionsRefusalsAreThePlatformsAndTheLimitAdapts() {
    KnativeFixtures k = new KnativeFixtures(client, "acme");
    // Discovery says 10 pods (the autoscaler just scaled down and the informer has not seen it), one is left:
    // 20 calls in flight against room for 11, so queue-proxy answers 503 pending request queue full.
    try (RevisionEmulator rev = new RevisionEmulator(Knobs.of(1, 300_000).activatorOutOfPath(), 1, false)
        .behave(c -> new Answer(200, 20, null))) {
      k.service("busy", rev.url(), "busy-00001", Map.of("conveyor.dev/retry", "0", "conveyor.dev/backoff-delay", "PT0.05S",
          "conveyor.dev/backoff-max", "PT0.5S", "conveyor.dev/platform-retries", "50"));
      k.revision("busy-00001", 10, "128Mi", 1, 300);
      try (Conveyor gw = gateway(client, "knative-busy", null)) {
        Http http = new Http(gw.httpPort());
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.functions().find("acme", "busy").isPresent());
        List<String> ids = invokeMany(http, "busy", 100);
        await().atMost(Duration.ofSeconds(90)).until(() -> ids.stream().allMatch(i -> "succeeded".equals(http.status(i, ACME_KEY).getString("status"))));
        assertThat(rev.queueFull()).as("the stale capacity did overflow queue-proxy").isPositive();
        assertThat(ids).as("retry 0, yet every one succeeded: the 503s spent no attempt")
            .allMatch(i -> http.status(i, ACME_KEY).getInteger("attempts") == 1);
        String metrics = new Http(gw.adminPort()).get("/metrics", null).body();
        assertThat(metrics).contains("conveyor_circuit_state{k8s_namespace_name=\"acme\",kn_service_name=\"busy\"} 0.0")
            .doesNotContain("outcome=\"error\"");
      }
    }
  }

  @Test
  void trafficPinnedToAnOlderRevisionIsBilledAtItsMemoryAndATaggedRouteAtItsOwn() {
    KnativeFixtures k = new KnativeFixtures(client, "acme");
    try (RevisionEmulator pinned = new RevisionEmulator(Knobs.of(0, 300_000), 3, false);
         RevisionEmulator canary = new RevisionEmulator(Knobs.of(0, 300_000).readinessDelay(300), 0, false)
             .onScale(n -> k.scale("pinned-00002", n));
         RevisionEmulator fresh = new RevisionEmulator(Knobs.of(0, 300_000), 1, false)) {
      k.revision("pinned-00001", 3, "2Gi");
      k.revision("pinned-00002", 0, "128Mi");
      k.service("pinned", pinned.url(), null, "pinned-00002", Map.of(), List.of(Route.all("pinned-00001"),
          new Route("pinned-00002", 0, "canary", canary.url())));
      k.revision("fresh-00001", null, "1Gi", 0, 300); // brand new: no actualReplicas yet; a sidecar comes first
      k.service("fresh", fresh.url(), "fresh-00001", Map.of());
      try (Conveyor gw = gateway(client, "knative-traffic", null)) {
        Http http = new Http(gw.httpPort());
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.functions().find("acme", "fresh").isPresent()
            && gw.functions().find("acme", "pinned@canary").isPresent());
        String main = id(http.invoke(ACME_KEY, "acme", "pinned", "{}"));
        String tagged = id(http.invoke(ACME_KEY, "acme", "pinned@canary", "{}"));
        String brandNew = id(http.invoke(ACME_KEY, "acme", "fresh", "{}"));
        for (String i : List.of(main, tagged, brandNew)) {
          await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(http.status(i, ACME_KEY).getString("status")));
        }
        JsonObject m = usage(gw, main);
        assertThat(m.getString("revision")).isEqualTo("pinned-00001");
        assertThat(m.getInteger("memoryMiB")).isEqualTo(2048);
        assertThat(m.getBoolean("coldStart")).as("the pinned revision has 3 pods").isFalse();
        JsonObject t = usage(gw, tagged);
        assertThat(t.getString("revision")).isEqualTo("pinned-00002");
        assertThat(t.getInteger("memoryMiB")).isEqualTo(128);
        assertThat(t.getBoolean("coldStart")).as("the tagged revision was at zero").isTrue();
        assertThat(t.getString("function")).isEqualTo("pinned@canary");
        assertThat(canary.functionCalls()).isEqualTo(1);
        assertThat(pinned.functionCalls()).isEqualTo(1);
        JsonObject f = usage(gw, brandNew);
        assertThat(f.getBoolean("coldStart")).as("no actualReplicas is not zero").isFalse();
        assertThat(f.getInteger("memoryMiB")).as("the serving container's, not the sidecar's").isEqualTo(1024);
        assertThat(new Http(gw.adminPort()).get("/metrics", null).body()).as("the tag's calls join the Service's series")
            .contains("conveyor_attempts_total{k8s_namespace_name=\"acme\",kn_revision_name=\"pinned-00002\",kn_service_name=\"pinned\",outcome=\"success\"");
        assertThat(http.invoke(ACME_KEY, "acme", "pinned@nope", "{}").statusCode()).isEqualTo(404);
        assertThat(http.invoke(ACME_KEY, "acme", "pinned@Bad!", "{}").statusCode()).isEqualTo(400);
      }
    }
  }

  @Test
  void clusterLocalHttpsIsTrustedByTheCaTheServiceGives() throws Exception {
    KnativeFixtures k = new KnativeFixtures(client, "acme");
    try (RevisionEmulator rev = new RevisionEmulator(Knobs.of(0, 300_000), 1, true)) {
      k.revision("secure-00001", 1, "256Mi");
      k.service("secure", rev.url(), rev.caPem(), "secure-00001", Map.of(), List.of(Route.all("secure-00001")));
      k.revision("untrusted-00001", 1, "256Mi");
      k.service("untrusted", rev.url(), null, "untrusted-00001", Map.of("conveyor.dev/retry", "0"), List.of(Route.all("untrusted-00001")));
      try (Conveyor gw = gateway(client, "knative-tls", null)) {
        Http http = new Http(gw.httpPort());
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.functions().find("acme", "untrusted").isPresent());
        String ok = id(http.invoke(ACME_KEY, "acme", "secure", "{\"tls\":1}"));
        String bad = id(http.invoke(ACME_KEY, "acme", "untrusted", "{}"));
        await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(http.status(ok, ACME_KEY).getString("status")));
        await().atMost(Duration.ofSeconds(30)).until(() -> "failed".equals(http.status(bad, ACME_KEY).getString("status")));
        assertThat(http.get("/v1/invocations/" + ok + "/result", ACME_KEY).body()).isEqualTo("{\"tls\":1}");
        assertThat(http.status(bad, ACME_KEY).getString("lastError")).contains("TLS handshake with localhost failed")
            .contains("status.address.CACerts");
        assertThat(rev.functionCalls()).isEqualTo(1);
      }
    }
  }

  @Test
  void overH2cAColdStartIsHeldOnItsStreamAndTheCallsShareAFewConnections() throws Exception {
    KnativeFixtures k = new KnativeFixtures(client, "acme");
    int calls = 40;
    try (RevisionEmulator rev = new RevisionEmulator(Knobs.of(0, 300_000).readinessDelay(300), 0, false)
        .onScale(n -> k.scale("streams-00001", n))) {
      k.revision("streams-00001", 0, "256Mi");
      k.service("streams", rev.url(), "streams-00001", Map.of());
      String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("knative-h2c"), "[]", "knative: { enabled: true, namespaces: [acme] }")
          .replace("dispatch: { group: ", "dispatch: { protocol: http2, group: ");
      try (Conveyor gw = Gateways.start(yaml, client)) {
        Http http = new Http(gw.httpPort());
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.functions().find("acme", "streams").isPresent());
        List<String> ids = invokeMany(http, "streams", calls);
        HttpResponse<String> sync = http.send(http.request("/v1/namespaces/acme/functions/streams", ACME_KEY)
            .timeout(Duration.ofSeconds(30)).header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"sync\":1}")).build());
        assertThat(sync.statusCode()).as(sync.body()).isEqualTo(200);
        assertThat(sync.body()).isEqualTo("{\"sync\":1}");
        List<JsonObject> usage = AsyncInvocationIT.usageRecords(gw, u -> ids.contains(u.getJsonObject("data").getString("invocationId")), calls);
        assertThat(usage).as("a usage record per call").hasSize(calls)
            .allSatisfy(u -> assertThat(u.getJsonObject("data").getString("outcome")).isEqualTo("success"))
            .as("the first calls were held at zero: a cold start each, billed as such")
            .anySatisfy(u -> assertThat(u.getJsonObject("data").getBoolean("coldStart")).isTrue());
        await().atMost(Duration.ofSeconds(10)).until(() -> "succeeded".equals(http.status(ids.get(7), ACME_KEY).getString("status")));
        assertThat(http.get("/v1/invocations/" + ids.get(7) + "/result", ACME_KEY).body()).isEqualTo("{\"n\":7}");
        assertThat(rev.heldMs()).as("held in the Activator until the pod was ready").isNotEmpty();
        assertThat(rev.functionCalls()).isEqualTo(calls + 1);
        assertThat(rev.protocols()).containsExactly(io.vertx.core.http.HttpVersion.HTTP_2);
        assertThat(rev.connections()).as("streams over a connection per client, not a connection per call")
            .isLessThanOrEqualTo(12); // the dispatcher's 8 clients (512 in flight) and the sync calls' 4 (256)
      }
    }
  }

  private static List<String> invokeMany(Http http, String fn, int n) {
    List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      sent.add(http.sendAsync(http.request("/v1/namespaces/acme/functions/" + fn + "/invocations", ACME_KEY)
          .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"n\":" + i + "}")).build()));
    }
    return sent.stream().map(CompletableFuture::join).map(KnativeIT::id).toList();
  }

  private static JsonObject usage(Conveyor gw, String id) {
    return AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("invocationId").equals(id), 1).get(0).getJsonObject("data");
  }

  static String id(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    return new JsonObject(r.body()).getString("id");
  }
}
