package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.kafka.EmbeddedKafka;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.GatewayProcess;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.common.GroupState;
import org.junit.jupiter.api.Test;

/**
 * Three gateway processes on one broker, three tenants with {@code maxConcurrency: 3}, each calling
 * a function that counts its concurrent calls. Invocations are sent to all three replicas; one
 * replica is SIGKILLed while they run. Every accepted invocation succeeds, and no function ever sees
 * more than 3 concurrent calls: each tenant's invocations are run by the one replica owning its
 * partition, before and after the kill moved partitions.
 */
class ReplicaLimitsIT {
  private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "expired", "cancelled");

  @Test
  void limitsHoldAcrossThreeReplicasAndAKilledReplicasWorkMovesWithoutLoss() throws Exception {
    Path dir = Files.createTempDirectory("conveyor-replica-limits");
    List<FunctionServer> fns = new ArrayList<>();
    List<GatewayProcess> replicas = new ArrayList<>();
    try {
      StringBuilder tenants = new StringBuilder();
      StringBuilder functions = new StringBuilder();
      for (int t = 0; t < 3; t++) {
        FunctionServer fn = new FunctionServer().behave(c -> new FunctionServer.Answer(200, 100, null));
        fns.add(fn);
        tenants.append("""
              - name: t%d
                namespaces: [t%d]
                apiKeys: [ { sha256: "%s", roles: [invoke, read] } ]
                limits: { maxConcurrency: 3, ratePerSecond: 100000, burst: 100000 }
            """.formatted(t, t, ApiKeyAuthenticator.sha256Hex("key-" + t)));
        functions.append("  - { namespace: t%d, name: slow, url: \"%s\", delivery: { timeout: PT2S } }\n".formatted(t, fn.url("/slow")));
      }
      String prefix = Gateways.prefix("limits");
      String group = prefix + "dispatch";
      Path config = dir.resolve("conveyor.yaml");
      Files.writeString(config, """
          server: { port: 0, adminPort: 0 }
          kafka: { bootstrapServers: "%s", topicPrefix: "%s", partitions: 3, replicationFactor: 1, deliveryTimeout: PT5S }
          tenants:
          %s
          functions:
          %s
          dispatch: { group: "%s" }
          """.formatted(TestKafka.bootstrap(), prefix, tenants, functions, group));
      List<Http> apis = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        int[] ports = EmbeddedKafka.freePorts(3);
        Map<String, String> env = new HashMap<>();
        env.put("CONVEYOR_CONFIG", config.toString());
        env.put("CONVEYOR_DATA_DIR", dir.resolve("r" + r).toString());
        env.put("CONVEYOR_HTTP_PORT", Integer.toString(ports[0]));
        env.put("CONVEYOR_ADMIN_PORT", Integer.toString(ports[1]));
        env.put("CONVEYOR_EMBEDDED_KAFKA_PORT", Integer.toString(ports[2]));
        replicas.add(new GatewayProcess(env, Path.of("target", "replica-limits-" + r + ".log")).start());
        apis.add(new Http(ports[0]));
      }
      for (GatewayProcess p : replicas) p.awaitReady(Duration.ofSeconds(90));
      try (Admin admin = Admin.create(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()))) {
        await().atMost(Duration.ofSeconds(60)).until(() -> {
          ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group);
          return g.groupState() == GroupState.STABLE && g.members().size() == 3
              && g.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty());
        });
      }

      Map<String, Integer> owner = new HashMap<>(); // id -> tenant
      for (int i = 0; i < 600; i++) {
        int t = i % 3;
        Http api = apis.get(i % 3 == 0 ? (i / 3) % 3 : i % 3); // every replica accepts every tenant's
        HttpResponse<String> r = api.send(api.request("/v1/namespaces/t" + t + "/functions/slow/invocations", "key-" + t)
            .POST(HttpRequest.BodyPublishers.ofString("{\"i\":" + i + "}")).build());
        assertThat(r.statusCode()).isEqualTo(202);
        owner.put(new JsonObject(r.body()).getString("id"), t);
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> fns.stream().mapToInt(f -> f.callsById().size()).sum() >= 90);
      replicas.get(0).kill();
      Http survivor = apis.get(1);
      await().atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofSeconds(1)).until(() -> owner.entrySet().stream()
          .allMatch(e -> TERMINAL.contains(survivor.status(e.getKey(), "key-" + e.getValue()).getString("status"))));
      for (var e : owner.entrySet()) {
        assertThat(survivor.status(e.getKey(), "key-" + e.getValue()).getString("status")).isEqualTo("succeeded");
      }
      for (int t = 0; t < 3; t++) {
        assertThat(fns.get(t).callsById()).as("tenant t%d ran all of its invocations", t).hasSize(200);
        assertThat(fns.get(t).peakConcurrency()).as("tenant t%d's peak concurrent calls", t).isLessThanOrEqualTo(3);
      }
    } finally {
      for (GatewayProcess p : replicas) p.close();
      for (FunctionServer f : fns) f.close();
    }
  }
}
