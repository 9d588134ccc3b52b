package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

/** Memory in flight and usage budgets on a real gateway and Kafka. */
class ResourceControlIT {

  /**
   * A tenant with {@code maxMemoryInFlightMiB: 1024} sends a 256 MiB and a 1,024 MiB function's
   * invocations at once: the memory of the calls at the function never exceeds 1,024 MiB, and both
   * functions' work runs, the large one before the small one's backlog is gone.
   */
  @Test
  void theMemoryInFlightStaysUnderTheLimitAndBothFunctionsProgress() {
    try (FunctionServer fn = new FunctionServer().behave(c -> new FunctionServer.Answer(200, 20, null))
        .weigh(path -> path.equals("/large") ? 1024 : 256)) {
      String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("memory"),
          "- { namespace: acme, name: small, memoryMiB: 256, url: \"" + fn.url("/small") + "\" }\n"
              + "- { namespace: acme, name: large, memoryMiB: 1024, url: \"" + fn.url("/large") + "\" }", null)
          .replace("limits: { maxPayloadBytes: 65536 }", "limits: { maxPayloadBytes: 65536, maxMemoryInFlightMiB: 1024 }");
      try (Conveyor gw = Gateways.start(yaml)) {
        Http http = new Http(gw.httpPort());
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          ids.add(accepted(http.invoke(ACME_KEY, "acme", "small", "{}")));
          if (i % 10 == 0) ids.add(accepted(http.invoke(ACME_KEY, "acme", "large", "{}")));
        }
        await().atMost(Duration.ofSeconds(90)).until(() -> ids.stream()
            .allMatch(id -> "succeeded".equals(http.status(id, ACME_KEY).getString("status"))));
        List<String> order = fn.calls().stream().map(FunctionServer.Call::path).toList();
        System.out.printf("memory: %d calls, peak memory in flight at the function %d MiB, first large call at #%d, last small at #%d%n",
            order.size(), fn.peakWeight(), order.indexOf("/large"), order.lastIndexOf("/small"));
        assertThat(fn.peakWeight()).as("memory in flight at the function").isLessThanOrEqualTo(1024).isGreaterThanOrEqualTo(512);
        assertThat(order.stream().filter("/large"::equals).count()).isEqualTo(20);
        assertThat(order.stream().filter("/small"::equals).count()).isEqualTo(200);
        assertThat(order.indexOf("/large")).as("the large function is not starved by the small one's backlog")
            .isLessThan(order.lastIndexOf("/small") / 2);
      }
    }
  }

  private static String accepted(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    return new JsonObject(r.body()).getString("id");
  }

  /**
   * A monthly budget of 3 GiB-s, spent through two replicas by sync calls of a 1 GiB function that
   * take 100 ms each, sent to each replica in turn: each threshold event arrives once, new
   * invocations are refused with {@code budget_exhausted} and the period's end as Retry-After on
   * both, the overspend stays within the lag of the rollups, the work accepted before runs and is
   * billed, and a raised budget takes effect on both without a restart.
   */
  @Test
  void aSpentBudgetRefusesNewWorkRaisesEachThresholdOnceAndARaiseTakesEffect() throws Exception {
    Path dir = Files.createTempDirectory("conveyor-budget");
    Path file = dir.resolve("conveyor.yaml");
    String prefix = Gateways.prefix("budget");
    try (FunctionServer fn = new FunctionServer().behave(c -> new FunctionServer.Answer(200, 100, null))) {
      String limits = "limits: { maxPayloadBytes: 65536, budgets: [ { period: month, gibSeconds: %s, alertAt: [0.8] } ] }";
      String original = Gateways.yaml(TestKafka.bootstrap(), prefix,
          "- { namespace: acme, name: big, memoryMiB: 1024, url: \"" + fn.url("/big") + "\" }", null)
          .replace("limits: { maxPayloadBytes: 65536 }", limits.formatted("3"));
      Files.writeString(file, original);
      try (Conveyor gw = Conveyor.start(Gateways.config(original), new Conveyor.Runtime(dir.resolve("data"), 1).watching(file, Map.of()));
           Conveyor other = Conveyor.start(Gateways.config(original),
               new Conveyor.Runtime(dir.resolve("data-other"), 1).watching(file, Map.of()))) {
        Http http = new Http(gw.httpPort());
        Http[] replicas = {http, new Http(other.httpPort())};
        List<String> queued = new ArrayList<>();
        int calls = 0;
        HttpResponse<String> refused = null;
        long start = System.nanoTime();
        while (refused == null && System.nanoTime() - start < Duration.ofSeconds(60).toNanos()) {
          Http to = replicas[calls % 2];
          HttpResponse<String> r = to.send(to.request("/v1/namespaces/acme/functions/big", ACME_KEY)
              .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build());
          if (r.statusCode() == 429) {
            refused = r;
          } else {
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            calls++;
            if (calls % 5 == 0) { // async work along; the budget may run out between the two calls
              HttpResponse<String> async = to.invoke(ACME_KEY, "acme", "big", "{}");
              if (async.statusCode() == 429) refused = async;
              else queued.add(accepted(async));
            }
          }
        }
        assertThat(refused).as("refused within a minute").isNotNull();
        assertThat(new JsonObject(refused.body()).getString("error")).isEqualTo("budget_exhausted");
        long retryAfter = Long.parseLong(refused.headers().firstValue("retry-after").orElseThrow());
        Instant monthEnd = java.time.LocalDate.now(java.time.ZoneOffset.UTC).withDayOfMonth(1).plusMonths(1)
            .atStartOfDay(java.time.ZoneOffset.UTC).toInstant();
        assertThat(Instant.now().plusSeconds(retryAfter)).isBetween(monthEnd.minusSeconds(5), monthEnd.plusSeconds(5));
        for (Http replica : replicas) {
          // Both replicas refuse, within the lag of the rollups (each follows them on its own).
          await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            HttpResponse<String> async = replica.invoke(ACME_KEY, "acme", "big", "{}");
            if (async.statusCode() == 202) queued.add(new JsonObject(async.body()).getString("id"));
            assertThat(async.statusCode()).isEqualTo(429);
            assertThat(new JsonObject(async.body()).getString("error")).isEqualTo("budget_exhausted");
          });
        }

        // Accepted work still runs, and is billed.
        await().atMost(Duration.ofSeconds(30)).until(() -> queued.stream()
            .allMatch(id -> "succeeded".equals(http.status(id, ACME_KEY).getString("status"))));
        int attempts = calls + queued.size();
        JsonObject[] usage = new JsonObject[1];
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          usage[0] = new JsonObject(http.get("/v1/usage?from=" + Instant.now().minus(Duration.ofHours(2)), ACME_KEY).body());
          assertThat(usage[0].getJsonObject("total").getLong("attempts")).isEqualTo(attempts);
        });
        JsonObject budget = usage[0].getJsonArray("budgets").getJsonObject(0);
        BigDecimal used = new BigDecimal(budget.getJsonObject("used").getString("gibSeconds"));
        BigDecimal over = used.subtract(new BigDecimal("3"));
        System.out.printf("budget: 3 GiB-s, two replicas, used %s GiB-s by %d attempts (%d sync, %d async): overspend %s GiB-s%n",
            used, attempts, calls, queued.size(), over);
        assertThat(budget.getBoolean("refusing")).isTrue();
        assertThat(budget.getJsonObject("left").getString("gibSeconds")).isEqualTo("0");
        // At about 1.2 GiB-s a second (one sync caller, 100 ms calls of 1 GiB, and async work along),
        // the rollups' lag of a few seconds is the bound.
        assertThat(over).as("overspend").isGreaterThanOrEqualTo(BigDecimal.ZERO).isLessThan(new BigDecimal("6"));

        // Raised without a restart: new work is accepted again.
        Files.writeString(file, original.replace("gibSeconds: 3", "gibSeconds: 1000"));
        for (Http replica : replicas) {
          await().atMost(Duration.ofSeconds(20)).until(() -> replica.invoke(ACME_KEY, "acme", "big", "{}").statusCode() == 202);
        }

        // Each threshold once: 0.8 and 1.0 of the 3 GiB-s budget, none of the raised one (under 80 %).
        List<JsonObject> events = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap(),
            "isolation.level", "read_committed"), new StringDeserializer(), new StringDeserializer())) {
          String topic = prefix + "budget-events";
          List<TopicPartition> parts = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
          c.assign(parts);
          c.seekToBeginning(parts);
          await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) events.add(new JsonObject(r.value()));
            assertThat(events).hasSizeGreaterThanOrEqualTo(2);
          });
          for (ConsumerRecord<String, String> r : c.poll(Duration.ofSeconds(2))) events.add(new JsonObject(r.value()));
        }
        System.out.printf("budget events: %s%n", new JsonArray(events.stream().map(e -> e.getJsonObject("data")
            .getDouble("threshold")).toList()));
        assertThat(events).extracting(e -> e.getJsonObject("data").getDouble("threshold")).containsExactly(0.8, 1.0);
        assertThat(events).allMatch(e -> e.getString("subject").equals("acme") && e.getJsonObject("data").getJsonObject("budget")
            .getString("gibSeconds").equals("3"));
      }
    }
  }
}
