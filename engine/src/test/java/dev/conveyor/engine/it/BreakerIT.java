package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A failing function opens its breaker: its invocations then wait without calls, attempts or
 * usage, while another function keeps flowing; sync calls get 503 at once; once the function is
 * well again the probes close the breaker and the waiting invocations run.
 */
@Beside
class BreakerIT {

  @Test
  void aFailingFunctionOpensItsBreakerWithoutStoppingTheOthers() {
    AtomicBoolean healthy = new AtomicBoolean(false);
    AtomicInteger failingCalls = new AtomicInteger();
    try (FunctionServer fn = new FunctionServer().behave(c -> {
          if (!c.path().equals("/failing")) return Answer.ok();
          failingCalls.incrementAndGet();
          return healthy.get() ? Answer.ok() : new Answer(500, 0, "down");
        });
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("breaker"), """
             - { namespace: acme, name: failing, url: "%s", delivery: { retry: 0 },
                 circuitBreaker: { failureRateThreshold: 50, minimumCalls: 4, openFor: PT20S } }
             - { namespace: acme, name: healthy, url: "%s" }
             """.formatted(fn.url("/failing"), fn.url("/healthy")), null))) {
      Http http = new Http(gw.httpPort());
      Http admin = new Http(gw.adminPort());
      List<String> first = new ArrayList<>();
      for (int i = 0; i < 4; i++) first.add(new JsonObject(http.invoke(ACME_KEY, "acme", "failing", "{}").body()).getString("id"));
      await().atMost(Duration.ofSeconds(20)).until(() -> first.stream().allMatch(id -> "failed".equals(http.status(id, ACME_KEY).getString("status"))));
      await().atMost(Duration.ofSeconds(5)).until(() -> admin.get("/metrics", null).body()
          .contains("conveyor_circuit_state{k8s_namespace_name=\"acme\",kn_service_name=\"failing\"} 1.0"));
      assertThat(failingCalls.get()).isEqualTo(4);

      List<String> waiting = new ArrayList<>();
      for (int i = 0; i < 5; i++) waiting.add(new JsonObject(http.invoke(ACME_KEY, "acme", "failing", "{}").body()).getString("id"));
      HttpResponse<String> sync = http.send(http.request("/v1/namespaces/acme/functions/failing", ACME_KEY)
          .POST(HttpRequest.BodyPublishers.ofString("{}")).build());
      assertThat(sync.statusCode()).isEqualTo(503);
      assertThat(new JsonObject(sync.body()).getString("error")).isEqualTo("circuit_open");
      assertThat(sync.headers().firstValue("retry-after")).contains("20");

      // Another function flows meanwhile (all of this within the breaker's 20 s).
      List<String> others = new ArrayList<>();
      for (int i = 0; i < 20; i++) others.add(new JsonObject(http.invoke(ACME_KEY, "acme", "healthy", "{}").body()).getString("id"));
      await().atMost(Duration.ofSeconds(20)).until(() -> others.stream().allMatch(id -> "succeeded".equals(http.status(id, ACME_KEY).getString("status"))));
      assertThat(failingCalls.get()).as("no call while open").isEqualTo(4);
      for (String id : waiting) {
        JsonObject s = http.status(id, ACME_KEY);
        assertThat(s.getString("status")).isEqualTo("queued");
        assertThat(s.getInteger("attempts")).isZero();
      }

      // Well again before the breaker's 20 s are over, so the probes find it well.
      healthy.set(true);
      // The wait is the breaker's 20 s, hopping through the 5 s retry tier: allow for a loaded machine.
      try {
        await().atMost(Duration.ofSeconds(90)).until(() -> waiting.stream().allMatch(id -> "succeeded".equals(http.status(id, ACME_KEY).getString("status"))));
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        StringBuilder why = new StringBuilder("waiting invocations did not all succeed; breaker metrics: ");
        admin.get("/metrics", null).body().lines().filter(l -> l.contains("failing")).forEach(l -> why.append("\n  ").append(l));
        for (String id : waiting) why.append("\n  ").append(http.status(id, ACME_KEY).encode());
        throw new AssertionError(why.toString(), e);
      }
      assertThat(failingCalls.get()).isEqualTo(4 + 5);
      for (String id : waiting) assertThat(http.status(id, ACME_KEY).getInteger("attempts")).isEqualTo(1);
      assertThat(admin.get("/metrics", null).body())
          .contains("conveyor_circuit_state{k8s_namespace_name=\"acme\",kn_service_name=\"failing\"} 0.0");
    }
  }
}
