package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.KnativeFixtures;
import dev.conveyor.engine.testing.TestKafka;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Knative discovery against fabric8's mock API server (CRUD mode), with a local server behaving
 * like a revision: scaled to zero it answers 503 as the Activator does. The platform's delay must
 * not spend the user's retries, and it is bounded.
 */
@EnableKubernetesMockClient(crud = true)
class KnativeIT {
  static KubernetesClient client;

  @Test
  void servicesAreDiscoveredAndTheActivatorsDelayIsAPlatformBudgetNotTheUsersRetries() {
    AtomicBoolean resizeAtZero = new AtomicBoolean(false);
    AtomicInteger activatorAnswers = new AtomicInteger();
    java.util.concurrent.atomic.AtomicLong first503At = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicLong servedAfterColdAt = new java.util.concurrent.atomic.AtomicLong();
    try (FunctionServer revisions = new FunctionServer().behave(c -> switch (c.path()) {
      case "/resize" -> {
        if (!resizeAtZero.get()) {
          if (first503At.get() != 0) servedAfterColdAt.compareAndSet(0, System.currentTimeMillis());
          yield Answer.ok();
        }
        first503At.compareAndSet(0, System.currentTimeMillis());
        activatorAnswers.incrementAndGet();
        yield new Answer(503, 0, "activator: revision not ready");
      }
      case "/never" -> new Answer(503, 0, "activator: revision not ready");
      default -> Answer.ok();
    })) {
      KnativeFixtures k = new KnativeFixtures(client, "acme");
      k.service("resize", revisions.url("/resize"), "resize-00001", Map.of(
          "conveyor.dev/retry", "0", "conveyor.dev/backoff-delay", "PT0.05S", "conveyor.dev/backoff-max", "PT0.5S",
          "conveyor.dev/platform-retries", "50"));
      k.revision("resize-00001", 1, "512Mi");
      k.service("never", revisions.url("/never"), "never-00001", Map.of(
          "conveyor.dev/retry", "1", "conveyor.dev/backoff-delay", "PT0.05S", "conveyor.dev/platform-retries", "2"));
      k.revision("never-00001", 0, "256Mi");
      k.service("odd", revisions.url("/odd"), "odd-00001", Map.of("conveyor.dev/retry", "lots"));
      k.revision("odd-00001", 1, "128Mi");
      k.service("unready", revisions.url("/unready"), null, Map.of());

      String prefix = Gateways.prefix("knative");
      String yaml = Gateways.yaml(TestKafka.bootstrap(), prefix,
          "- { namespace: acme, name: static, url: \"" + revisions.url("/static") + "\" }",
          "knative: { enabled: true, namespaces: [acme] }");
      try (Conveyor gw = Gateways.start(yaml, client)) {
        Http http = new Http(gw.httpPort());

        // Discovery: Services with a ready revision are functions; static ones still work; others are 404.
        assertThat(http.invoke(ACME_KEY, "acme", "nope", "{}").statusCode()).isEqualTo(404);
        assertThat(http.invoke(ACME_KEY, "acme", "unready", "{}").statusCode()).as("never ready").isEqualTo(404);
        assertThat(http.invoke(ACME_KEY, "acme", "static", "{}").statusCode()).isEqualTo(202);
        assertThat(http.invoke(ACME_KEY, "acme", "odd", "{}").statusCode()).as("bad annotations: default policy").isEqualTo(202);

        String warm = id(http.invoke(ACME_KEY, "acme", "resize", "{\"w\":1}").body());
        await().atMost(Duration.ofSeconds(20)).until(() -> "succeeded".equals(http.status(warm, ACME_KEY).getString("status")));
        JsonObject usage = AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("invocationId").equals(warm), 1)
            .get(0).getJsonObject("data");
        assertThat(usage.getInteger("memoryMiB")).as("from the revision's memory limit").isEqualTo(512);
        assertThat(usage.getString("revision")).isEqualTo("resize-00001");
        assertThat(usage.getBoolean("coldStart")).isFalse();

        // Scaled to zero: the Activator answers 503 a few times; retry is 0, yet the invocation succeeds.
        resizeAtZero.set(true);
        k.scale("resize-00001", 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.functions().find("acme", "resize").orElseThrow().scaledToZero());
        String cold = id(http.invoke(ACME_KEY, "acme", "resize", "{\"c\":1}").body());
        await().atMost(Duration.ofSeconds(20)).until(() -> activatorAnswers.get() >= 3);
        k.scale("resize-00001", 1);
        resizeAtZero.set(false);
        await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(http.status(cold, ACME_KEY).getString("status")));
        JsonObject s = http.status(cold, ACME_KEY);
        assertThat(s.getInteger("attempts")).as("the platform's 503s spent no attempt").isEqualTo(1);
        assertThat(s.getInteger("platformDelays")).isGreaterThanOrEqualTo(3);
        assertThat(s.getJsonArray("history")).hasSize(1);
        assertThat(revisions.callsFor(cold)).isEqualTo(s.getInteger("platformDelays") + 1);
        List<JsonObject> coldUsage = AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("invocationId").equals(cold), 1);
        assertThat(coldUsage).as("only the attempt the function ran is metered").hasSize(1);
        JsonObject coldData = coldUsage.get(0).getJsonObject("data");
        assertThat(coldData.getString("outcome")).isEqualTo("success");
        // The cold start spans the whole scale from zero: from the first attempt the Activator turned
        // away to the answer, not just the last attempt.
        long scaleWait = servedAfterColdAt.get() - first503At.get();
        assertThat(coldData.getBoolean("coldStart")).isTrue();
        assertThat(coldData.getLong("coldStartMs")).as("scale from zero took %d ms", scaleWait)
            .isBetween(scaleWait - 100, scaleWait + 1000);

        // The budget is bounded: after 2 platform delays, 503s spend the user's retry (1), then dead letter.
        String never = id(http.invoke(ACME_KEY, "acme", "never", "{}").body());
        await().atMost(Duration.ofSeconds(30)).until(() -> "failed".equals(http.status(never, ACME_KEY).getString("status")));
        JsonObject n = http.status(never, ACME_KEY);
        assertThat(n.getInteger("platformDelays")).isEqualTo(2);
        assertThat(n.getInteger("attempts")).isEqualTo(2);
        assertThat(revisions.callsFor(never)).isEqualTo(4);
        List<JsonObject> neverUsage = AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("invocationId").equals(never), 2);
        assertThat(neverUsage).extracting(u -> u.getJsonObject("data").getBoolean("coldStart")).containsOnly(true);
      }
    }
  }

  private static String id(String body) {
    return new JsonObject(body).getString("id");
  }



}
