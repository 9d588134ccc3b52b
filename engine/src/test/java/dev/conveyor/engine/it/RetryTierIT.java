package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.Committed;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A backoff longer than the shortest retry tier parks the next attempt on a tier topic: the queue's
 * committed offset moves on meanwhile, and the attempt happens once, after the wait.
 */
class RetryTierIT {

  @Test
  void aLongBackoffIsParkedOnATierAndDoesNotHoldTheQueuesOffset() throws Exception {
    Set<String> failedOnce = ConcurrentHashMap.newKeySet();
    String prefix = Gateways.prefix("tiers");
    try (FunctionServer fn = new FunctionServer().behave(c -> failedOnce.add(c.invocationId())
            ? new Answer(503, 0, "not yet", "7") : Answer.ok());
         // queued and parked in the packed form: the retry comes back from its tier and runs
         Conveyor gw = Gateways.start(Gateways.packed(Gateways.yaml(TestKafka.bootstrap(), prefix,
             "- { namespace: acme, name: later, url: \"" + fn.url("/later") + "\", delivery: { retry: 2, backoffDelay: PT0.1S, backoffMax: PT1M } }",
             null)))) {
      Http http = new Http(gw.httpPort());
      String id = new JsonObject(http.invoke(ACME_KEY, "acme", "later", "{}").body()).getString("id");
      await().atMost(Duration.ofSeconds(20)).until(() -> "retrying".equals(http.status(id, ACME_KEY).getString("status")));

      // While the retry waits on its tier, the dispatchers commit the whole queue.
      Committed.toEnd(TestKafka.bootstrap(), prefix + "dispatch", prefix + "invocations", Duration.ofSeconds(5));
      assertThat(http.status(id, ACME_KEY).getString("status")).isEqualTo("retrying");

      await().atMost(Duration.ofSeconds(40)).until(() -> "succeeded".equals(http.status(id, ACME_KEY).getString("status")));
      JsonObject s = http.status(id, ACME_KEY);
      assertThat(s.getInteger("attempts")).isEqualTo(2);
      JsonArray h = s.getJsonArray("history");
      long gap = Instant.parse(h.getJsonObject(1).getString("startedAt")).toEpochMilli()
          - Instant.parse(h.getJsonObject(0).getString("startedAt")).toEpochMilli();
      assertThat(gap).as("the second attempt waited for Retry-After").isGreaterThanOrEqualTo(7000);
      assertThat(fn.callsFor(id)).isEqualTo(2);
    }
  }

  @Test
  void retriesAndBreakerWaitsParkedTogetherAllComeBackOnce() {
    // The first 20 calls fail (Retry-After: 6) and open the breaker; the other 20 invocations wait for
    // it. Retries and breaker waits then sit on the same tier partitions with different due times,
    // held and released many times over: every one of them must come back and succeed.
    AtomicInteger calls = new AtomicInteger();
    try (FunctionServer fn = new FunctionServer().behave(c -> calls.incrementAndGet() <= 20
            ? new Answer(503, 0, "not yet", "6") : Answer.ok());
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("tiers-breaker"), """
             - { namespace: acme, name: later, url: "%s", delivery: { retry: 2, backoffDelay: PT0.1S, backoffMax: PT1M },
                 circuitBreaker: { minimumCalls: 20, openFor: PT10S } }
             """.formatted(fn.url("/later")), null))) {
      Http http = new Http(gw.httpPort());
      List<String> ids = new java.util.ArrayList<>();
      for (int i = 0; i < 40; i++) ids.add(new JsonObject(http.invoke(ACME_KEY, "acme", "later", "{}").body()).getString("id"));
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(ids)
          .allMatch(id -> "succeeded".equals(http.status(id, ACME_KEY).getString("status"))));
      assertThat(calls.get()).as("20 failures, then one successful call each").isEqualTo(60);
    }
  }
}
