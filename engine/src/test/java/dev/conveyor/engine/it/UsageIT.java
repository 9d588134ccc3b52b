package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_ADMIN_KEY;
import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.ACME_READER_KEY;
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
import java.math.BigDecimal;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Usage rollups end to end on a real broker: invocations of a flaky function (retries, so several
 * attempts per invocation) become usage records, Kafka Streams rolls them up exactly once, and
 * {@code GET /v1/usage} answers totals equal to the sum of the distinct raw records, to the last
 * decimal of GiB-seconds; another tenant sees none of it, the role is required, and a void
 * correction takes one record's contribution out.
 */
@Beside
class UsageIT {

  @Test
  void theUsageApiAddsUpTheDistinctRawRecordsAndCorrectionsApply() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    String prefix = Gateways.prefix("usage");
    // Every third call of flaky fails (retried 10 ms later); echo always answers.
    try (FunctionServer fn = new FunctionServer().behave(c -> new FunctionServer.Answer(
        c.path().equals("/flaky") && calls.incrementAndGet() % 3 == 0 ? 500 : 200, 3, null));
         // Every record form packed, as a deployment whose replicas all run this version may set it.
         Conveyor gw = Gateways.start(Gateways.packed(Gateways.yaml(TestKafka.bootstrap(), prefix, """
             - { namespace: acme, name: flaky, url: "%s", memoryMiB: 256, delivery: { retry: 3, backoffDelay: PT0.01S } }
             - { namespace: acme, name: echo, url: "%s", memoryMiB: 128 }
             """.formatted(fn.url("/flaky"), fn.url("/echo")), null)
             .replace("roles: [invoke, read] } ]", "roles: [invoke, read, usage] } ]")))) {
      Http http = new Http(gw.httpPort());
      Instant start = Instant.now();
      List<String> ids = new java.util.ArrayList<>();
      for (int i = 0; i < 60; i++) {
        HttpResponse<String> r = http.invoke(ACME_KEY, "acme", i % 4 == 0 ? "echo" : "flaky", "{\"i\":" + i + "}");
        assertThat(r.statusCode()).isEqualTo(202);
        ids.add(new JsonObject(r.body()).getString("id"));
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> ids.stream()
          .allMatch(id -> List.of("succeeded", "failed").contains(http.status(id, ACME_KEY).getString("status"))));
      int attempts = ids.stream().mapToInt(id -> http.status(id, ACME_KEY).getInteger("attempts")).sum();
      assertThat(attempts).as("some invocations were retried").isGreaterThan(60);

      // The raw records, deduplicated by id, summed by hand.
      List<JsonObject> raw = AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("tenant").equals("acme"),
          attempts);
      Map<String, JsonObject> distinct = new HashMap<>();
      raw.forEach(r -> distinct.putIfAbsent(r.getString("id"), r.getJsonObject("data")));
      var schema = dev.conveyor.engine.metering.UsageSchemaTest.validator();
      assertThat(raw).allSatisfy(r -> assertThat(schema.validate(r).getValid()).as(r.encode()).isTrue());
      long billed = distinct.values().stream().mapToLong(d -> d.getLong("billedDurationMs")).sum();
      BigDecimal gib = distinct.values().stream().map(d -> new BigDecimal(d.getString("gibSeconds"))).reduce(BigDecimal.ZERO, BigDecimal::add);

      String query = "/v1/usage?from=" + start.minus(Duration.ofHours(1)) + "&to=" + Instant.now().plus(Duration.ofHours(1));
      await().atMost(Duration.ofSeconds(60)).until(() -> new JsonObject(http.get(query, ACME_KEY).body())
          .getJsonObject("total").getLong("attempts") == distinct.size());
      JsonObject usage = new JsonObject(http.get(query, ACME_KEY).body());
      JsonObject total = usage.getJsonObject("total");
      // Each hour's totals go out once per commit (the latest of that second), not once per record.
      long emitted = countToEnd(gw.topics().usageRollups(), "acme/");
      assertThat(emitted).as("rollup records for %d usage records", distinct.size()).isPositive().isLessThan(distinct.size() / 2);
      assertThat(total.getLong("invocations")).isEqualTo(60);
      assertThat(total.getLong("billedDurationMs")).isEqualTo(billed);
      assertThat(new BigDecimal(total.getString("gibSeconds"))).isEqualByComparingTo(gib);
      assertThat(usage.getString("tenant")).isEqualTo("acme");

      JsonObject byFunction = new JsonObject(http.get(query + "&groupBy=function", ACME_KEY).body());
      assertThat(byFunction.getJsonArray("rows")).hasSize(2);
      assertThat(byFunction.getJsonArray("rows").stream().map(o -> ((JsonObject) o).getString("function")))
          .containsExactlyInAnyOrder("echo", "flaky");

      // Isolation and roles.
      assertThat(new JsonObject(http.get(query, GLOBEX_KEY).body()).getJsonObject("total").getLong("attempts")).isZero();
      assertThat(http.get(query, ACME_READER_KEY).statusCode()).isEqualTo(403);
      assertThat(http.get("/v1/usage?from=yesterday", ACME_KEY).statusCode()).isEqualTo(400);

      // A correction: void one record; the totals lose exactly its contribution.
      var one = distinct.entrySet().iterator().next();
      HttpResponse<String> adj = http.send(http.request("/v1/usage/adjustments", ACME_ADMIN_KEY)
          .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("originalId", one.getKey()).put("action", "void")
              .put("reason", "test").encode())).build());
      assertThat(adj.statusCode()).as(adj.body()).isEqualTo(202);
      assertThat(new JsonObject(adj.body()).getString("id")).startsWith("adjustment:");
      long expectedBilled = billed - one.getValue().getLong("billedDurationMs");
      await().atMost(Duration.ofSeconds(30)).until(() -> new JsonObject(http.get(query, ACME_KEY).body())
          .getJsonObject("total").getLong("billedDurationMs") == expectedBilled);
      assertThat(new JsonObject(http.get(query, ACME_KEY).body()).getJsonObject("total").getLong("attempts"))
          .isEqualTo(distinct.size() - 1);
      // The rollups kept each id's entry packed (metering.dedupeEntries), the voided one flagged.
      Map<String, byte[]> entries = new HashMap<>();
      readToEnd(prefix + "usage-rollups-usage-seen-changelog", "", (k, v) -> entries.put(k, v));
      assertThat(entries.keySet()).containsAll(distinct.keySet());
      assertThat(distinct.keySet()).allSatisfy(id -> assertThat(entries.get(id)[0]).as(id).isEqualTo((byte) 1));
      assertThat(entries.get(one.getKey())[1]).as("voided").isEqualTo((byte) 1);
      // The export for billing: each id once, the correction included, in CSV and in JSON.
      java.io.StringWriter csv = new java.io.StringWriter();
      long exported = dev.conveyor.engine.metering.UsageExport.export(TestKafka.bootstrap(), gw.topics().usage(),
          start.minus(Duration.ofMinutes(1)), Instant.now().plus(Duration.ofMinutes(1)), "acme", "csv", csv);
      assertThat(exported).isEqualTo(distinct.size() + 1);
      List<String> lines = csv.toString().lines().toList();
      assertThat(lines.get(0)).startsWith("type,id,time,tenant,namespace,function");
      assertThat(lines).hasSize(distinct.size() + 2);
      assertThat(lines.stream().filter(l -> l.contains(dev.conveyor.engine.metering.UsageRollupTopology.ADJUSTMENT))).hasSize(1);
      java.io.StringWriter json = new java.io.StringWriter();
      dev.conveyor.engine.metering.UsageExport.export(TestKafka.bootstrap(), gw.topics().usage(),
          start.minus(Duration.ofMinutes(1)), Instant.now().plus(Duration.ofMinutes(1)), "globex", "json", json);
      assertThat(new io.vertx.core.json.JsonArray(json.toString())).as("another tenant's export").isEmpty();
      // Another tenant's record cannot be corrected by a caller who does not own it.
      assertThat(http.send(http.request("/v1/usage/adjustments", GLOBEX_KEY).POST(HttpRequest.BodyPublishers.ofString(
          new JsonObject().put("originalId", one.getKey()).put("action", "void").encode())).build()).statusCode()).isEqualTo(403);
    }
  }

  /** The records of {@code topic} whose key starts with {@code prefix}, read from its start to its end (committed only). */
  private static long countToEnd(String topic, String prefix) {
    long[] n = {0};
    readToEnd(topic, prefix, (k, v) -> n[0]++);
    return n[0];
  }

  /** Hands {@code each} the records of {@code topic} whose key starts with {@code prefix}, from its start to its end (committed only). */
  private static void readToEnd(String topic, String prefix, java.util.function.BiConsumer<String, byte[]> each) {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", TestKafka.bootstrap());
    props.put("isolation.level", "read_committed");
    try (var c = new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(props,
        new org.apache.kafka.common.serialization.StringDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      var parts = c.partitionsFor(topic).stream().map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      var end = c.endOffsets(parts);
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (var r : c.poll(Duration.ofMillis(200))) if (r.key() != null && r.key().startsWith(prefix)) each.accept(r.key(), r.value());
        return parts.stream().allMatch(tp -> c.position(tp) >= end.get(tp));
      });
    }
  }
}
