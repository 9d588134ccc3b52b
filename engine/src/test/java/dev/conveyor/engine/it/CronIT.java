package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.GatewayProcess;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Ports;
import dev.conveyor.engine.testing.TestKafka;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The schedule trigger on two gateway processes sharing one broker, with leader election through a
 * Kubernetes Lease (fabric8's mock API server in CRUD mode, over loopback HTTP): a schedule that
 * ticks every second fires each tick once, on the leader only; after the leader is SIGKILLed the
 * other takes the Lease over when it runs out and fires the ticks missed meanwhile
 * ({@code missedTicks: fireAll}), so the ticks stay contiguous and none is doubled.
 */
@EnableKubernetesMockClient(crud = true, https = false)
class CronIT {
  static KubernetesClient client;

  @Test
  void twoReplicasFireEveryTickOnceAndTheSurvivorTakesTheScheduleOverAfterSigkill() throws Exception {
    Path dir = Files.createTempDirectory("conveyor-cron");
    try (FunctionServer fn = new FunctionServer()) {
      String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("cron"), "- { namespace: acme, name: echo, url: \""
          + fn.url("/echo") + "\" }", """
          leaderElection: { enabled: true, namespace: conveyor, leaseDuration: PT3S, renewDeadline: PT2S, retryPeriod: PT0.5S }
          connectors:
            - { type: cron, name: every-second, schedule: "* * * * * *", missedTicks: fireAll,
                target: { namespace: acme, function: echo }, payload: '{"job":"tick"}' }
          """);
      Path config = dir.resolve("conveyor.yaml");
      Files.writeString(config, yaml);
      Map<String, GatewayProcess> replicas = new HashMap<>();
      try {
        for (String name : List.of("replica-a", "replica-b")) {
          int[] ports = Ports.free(3);
          Map<String, String> env = new HashMap<>();
          env.put("CONVEYOR_CONFIG", config.toString());
          env.put("CONVEYOR_DATA_DIR", dir.resolve(name).toString());
          env.put("CONVEYOR_HTTP_PORT", Integer.toString(ports[0]));
          env.put("CONVEYOR_ADMIN_PORT", Integer.toString(ports[1]));
          env.put("CONVEYOR_EMBEDDED_KAFKA_PORT", Integer.toString(ports[2]));
          env.put("HOSTNAME", name);
          env.put("KUBERNETES_MASTER", client.getMasterUrl().toString());
          env.put("KUBERNETES_AUTH_TRYKUBECONFIG", "false");
          env.put("KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
          env.put("KUBERNETES_NAMESPACE", "conveyor");
          replicas.put(name, new GatewayProcess(env, Path.of("target", "cron-" + name + ".log")).start());
        }
        for (GatewayProcess p : replicas.values()) p.awaitReady(Duration.ofSeconds(90));
        await().atMost(Duration.ofSeconds(30)).until(() -> ticks(fn).size() >= 3);

        String holder = holder();
        String leader = holder.startsWith("replica-a-") ? "replica-a" : "replica-b";
        String survivor = leader.equals("replica-a") ? "replica-b" : "replica-a";
        Instant killedAt = Instant.now();
        replicas.get(leader).kill();
        // The survivor leads once the Lease runs out, fires what was missed, then goes on.
        await().atMost(Duration.ofSeconds(60)).until(() -> holder().startsWith(survivor + "-"));
        Instant tookOverAt = Instant.now();
        // The ticks reach the function as they are dispatched, several at once and in no fixed order
        // (the missed ones queue while the dead replica still owns the partition, and go out together
        // once it is handed over), so a moment's view may have a hole that closes a few ms later; a
        // tick that was never fired keeps its hole open until the wait runs out.
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
          List<Instant> times = List.copyOf(ticks(fn).keySet());
          assertThat(times).last().matches(t -> t.isAfter(tookOverAt.plusSeconds(1)), "a tick the survivor fired on schedule");
          for (int i = 1; i < times.size(); i++) {
            assertThat(Duration.between(times.get(i - 1), times.get(i))).as("the tick after %s", times.get(i - 1))
                .isEqualTo(Duration.ofSeconds(1));
          }
        });

        TreeMap<Instant, Set<String>> ticks = ticks(fn);
        assertThat(ticks).allSatisfy((t, ids) -> assertThat(ids).as("invocations of the tick %s", t).hasSize(1));
        assertThat(ticks.keySet()).anyMatch(t -> t.isBefore(killedAt.minusSeconds(2))).allMatch(t -> t.getNano() == 0);
      } finally {
        for (GatewayProcess p : replicas.values()) p.close();
      }
    }
  }

  private static String holder() {
    Lease lease = client.leases().inNamespace("conveyor").withName("conveyor-schedule-every-second").get();
    return lease == null || lease.getSpec().getHolderIdentity() == null ? "" : lease.getSpec().getHolderIdentity();
  }

  /** Tick time → the invocation ids the function was called with for it. */
  private static TreeMap<Instant, Set<String>> ticks(FunctionServer fn) {
    TreeMap<Instant, Set<String>> ticks = new TreeMap<>();
    for (FunctionServer.Call c : fn.calls()) {
      String time = c.headers().get("ce-time");
      if (time != null) ticks.computeIfAbsent(Instant.parse(time), k -> new TreeSet<>()).add(c.invocationId());
    }
    return ticks;
  }
}
