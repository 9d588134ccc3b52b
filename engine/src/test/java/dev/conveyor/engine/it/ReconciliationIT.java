package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.GatewayProcess;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.Ports;
import io.vertx.core.json.JsonObject;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Metering under faults: the gateway (its own process, embedded broker) delivers thousands of
 * invocations to a function failing 30% of calls while it is SIGKILLed twice and restarted on the
 * same data. Afterwards the distinct usage record ids are exactly the attempts the function
 * received (it counts each invocation id and attempt number), so no attempt lacks a record and none
 * has two, and the usage API's totals equal the sum of the distinct raw records. Figures in
 * {@code engine/target/reconciliation-report.txt}.
 */
@Alone
class ReconciliationIT {
  private static final String KEY = "reconcile-key";
  private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "expired", "cancelled");

  @Test
  void usageRecordsMatchTheAttemptsTheFunctionReceivedAcrossTwoSigkills() throws Exception {
    Path dir = Files.createTempDirectory("conveyor-reconcile");
    Set<String> received = ConcurrentHashMap.newKeySet();
    // 30% of calls fail, decided by the call itself (id and attempt), so a re-run of an attempt fails alike.
    try (FunctionServer fn = new FunctionServer().behave(c -> {
      received.add(c.invocationId() + ":" + c.attempt());
      boolean fail = Math.floorMod((c.invocationId() + ":" + c.attempt()).hashCode(), 10) < 3;
      return new Answer(fail ? 500 : 200, fail ? 2 : 5, null);
    })) {
      Path config = dir.resolve("conveyor.yaml");
      Files.writeString(config, """
          tenants:
            - name: acme
              namespaces: [acme]
              apiKeys: [ { sha256: "%s", roles: [invoke, read, usage] } ]
              limits: { maxConcurrency: 64, ratePerSecond: 100000, burst: 100000 }
          functions:
            - { namespace: acme, name: flaky, url: "%s", memoryMiB: 256, delivery: { retry: 3, backoffDelay: PT0.05S, backoffMax: PT0.2S },
                circuitBreaker: { failureRateThreshold: 90, minimumCalls: 100, openFor: PT1S } }
          """.formatted(ApiKeyAuthenticator.sha256Hex(KEY), fn.url("/flaky")));
      int[] ports = Ports.free(3);
      Map<String, String> env = Map.of("CONVEYOR_CONFIG", config.toString(), "CONVEYOR_DATA_DIR", dir.resolve("data").toString(),
          "CONVEYOR_HTTP_PORT", Integer.toString(ports[0]), "CONVEYOR_ADMIN_PORT", Integer.toString(ports[1]),
          "CONVEYOR_EMBEDDED_KAFKA_PORT", Integer.toString(ports[2]));
      Http http = new Http(ports[0]);
      Path log = Path.of("target", "reconciliation-gateway.log");
      Set<String> accepted = ConcurrentHashMap.newKeySet();
      Instant start = Instant.now();
      int[] receivedAtKill = new int[2];
      for (int round = 0; round < 2; round++) {
        try (GatewayProcess gw = new GatewayProcess(env, log).start()) {
          gw.awaitReady(Duration.ofSeconds(90));
          HttpResponse<String> probe = http.invoke(KEY, "acme", "flaky", "{\"n\":0}");
          assertThat(probe.statusCode()).as(probe.body()).isEqualTo(202);
          accepted.add(new JsonObject(probe.body()).getString("id"));
          AtomicBoolean go = new AtomicBoolean(true);
          ExecutorService clients = Executors.newFixedThreadPool(8);
          for (int c = 0; c < 8; c++) {
            clients.submit(() -> {
              while (go.get() && accepted.size() < 2000) {
                try {
                  HttpResponse<String> r = http.invoke(KEY, "acme", "flaky", "{\"n\":1}");
                  if (r.statusCode() == 202) accepted.add(new JsonObject(r.body()).getString("id"));
                } catch (RuntimeException e) {
                  // the process is gone: not a 202
                }
              }
            });
          }
          int before = received.size();
          await().atMost(Duration.ofSeconds(120)).until(() -> received.size() >= before + 400);
          gw.kill();
          receivedAtKill[round] = received.size();
          go.set(false);
          clients.shutdown();
          assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
      }
      try (GatewayProcess gw = new GatewayProcess(env, log).start()) {
        gw.awaitReady(Duration.ofSeconds(90));
        List<String> ids = new ArrayList<>(accepted);
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(1)).until(() ->
            ids.stream().allMatch(id -> TERMINAL.contains(http.status(id, KEY).getString("status"))));

        // Every usage record, each id once (the first, as the rollups count it), read until the usage
        // API's totals equal their sum. The consumer keeps reading while the API catches up: a stored
        // invocation whose 202 a kill cut off is not in `ids`, so its last attempts may still be
        // running when every accepted one is terminal, and their records come late.
        Map<String, JsonObject> usage = new HashMap<>();
        String query = "/v1/usage?from=" + start.minus(Duration.ofHours(1)) + "&to=" + Instant.now().plus(Duration.ofHours(1));
        JsonObject[] total = new JsonObject[1];
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.<String, Object>of("bootstrap.servers",
            "127.0.0.1:" + ports[2], "isolation.level", "read_committed"), new StringDeserializer(), new StringDeserializer())) {
          List<TopicPartition> parts = c.partitionsFor("conveyor.usage").stream()
              .map(p -> new TopicPartition("conveyor.usage", p.partition())).toList();
          c.assign(parts);
          c.seekToBeginning(parts);
          try {
            await().atMost(Duration.ofSeconds(120)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
              for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                JsonObject ce = new JsonObject(r.value());
                usage.putIfAbsent(ce.getString("id"), ce.getJsonObject("data"));
              }
              assertThat(usage.keySet()).as("no attempt the function received lacks its usage record").containsAll(received);
              total[0] = new JsonObject(http.get(query, KEY).body()).getJsonObject("total");
              assertThat(total[0].getLong("attempts")).as("the usage API's attempts, beside the distinct raw records")
                  .isEqualTo(usage.size());
            });
          } catch (ConditionTimeoutException e) {
            throw new AssertionError(e.getMessage() + "\n" + rollupsDiagnosis("127.0.0.1:" + ports[2], gw), e);
          }
        }
        Set<String> extra = new java.util.TreeSet<>(usage.keySet());
        extra.removeAll(received);
        String report = "accepted=%d attemptsReceived=%d usageIds=%d receivedAtKills=%d,%d recordsWithoutAReceivedAttempt=%d"
            .formatted(ids.size(), received.size(), usage.size(), receivedAtKill[0], receivedAtKill[1], extra.size());
        System.out.println("ReconciliationIT: " + report);
        Files.writeString(Path.of("target", "reconciliation-report.txt"), report + "\n");
        assertThat(extra).as("usage records of attempts the function never received").isEmpty();

        long billed = usage.values().stream().mapToLong(d -> d.getLong("billedDurationMs")).sum();
        BigDecimal gib = usage.values().stream().map(d -> new BigDecimal(d.getString("gibSeconds"))).reduce(BigDecimal.ZERO, BigDecimal::add);
        assertThat(total[0].getLong("billedDurationMs")).isEqualTo(billed);
        assertThat(new BigDecimal(total[0].getString("gibSeconds"))).isEqualByComparingTo(gib);
        // Stored invocations whose 202 the kill cut off ran too: at least every accepted one started.
        long firstAttempts = usage.values().stream().filter(d -> d.getInteger("attempt") == 1).count();
        assertThat(total[0].getLong("invocations")).isEqualTo(firstAttempts).isGreaterThanOrEqualTo(ids.size());
      }
    }
  }

  /**
   * Why the usage API may not have caught up, for the failure message: the rollups topic's end as a
   * read_committed reader sees it beside the log end (an open transaction holds the first back), the
   * transactions the broker knows, the gateway's rollups consumer metrics and the end of its log.
   */
  private static String rollupsDiagnosis(String bootstrap, GatewayProcess gw) {
    StringBuilder out = new StringBuilder();
    String topic = "conveyor.usage-rollups";
    for (String isolation : List.of("read_committed", "read_uncommitted")) {
      try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.<String, Object>of("bootstrap.servers", bootstrap,
          "isolation.level", isolation), new StringDeserializer(), new StringDeserializer())) {
        List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
            .map(p -> new TopicPartition(topic, p.partition())).toList();
        out.append(topic).append(" end offsets, ").append(isolation).append(": ")
            .append(c.endOffsets(parts, Duration.ofSeconds(10)).entrySet().stream()
                .map(en -> en.getKey().partition() + "=" + en.getValue()).sorted().toList()).append('\n');
      } catch (RuntimeException x) {
        out.append(isolation).append(" end offsets: ").append(x).append('\n');
      }
    }
    try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", bootstrap))) {
      for (TransactionListing t : admin.listTransactions().all().get(10, TimeUnit.SECONDS)) {
        out.append("transaction ").append(t.transactionalId()).append(' ').append(t.state()).append('\n');
      }
    } catch (Exception x) {
      out.append("transactions: ").append(x).append('\n');
    }
    // The rollups' Streams consumers: how far behind, how much read, when they last polled.
    gw.metrics("kafka_consumer_fetch_manager_records_lag_max", "kafka_consumer_fetch_manager_records_consumed_total",
        "kafka_consumer_last_poll_seconds_ago").lines().filter(l -> l.contains("usage-rollups")).limit(30)
        .forEach(l -> out.append(l).append('\n'));
    return out.append("the end of ").append(gw.logFile()).append(":\n").append(gw.tail(60)).toString();
  }
}
