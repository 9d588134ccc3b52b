package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.GatewayProcess;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.Ports;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One tenant beyond one replica. Three gateway processes on one broker, each with
 * {@code dispatch.maxInFlight: 25}, a queue of 6 partitions, and three tenants, each calling its own
 * function, which counts its concurrent calls:
 *
 * <ul>
 *   <li>{@code big}: 3 lanes, {@code maxConcurrency: 60}, a backlog of 1,500 invocations. More than
 *       one replica serves it (its function sees more than 25 at once) and never more than 60;
 *   <li>{@code trickle}: 1 lane, one invocation every 20 ms while big's backlog drains: its queue
 *       wait stays short (p99 under 100 ms);
 *   <li>then big floods 1,500 more of 200 ms, and {@code one} (1 lane, {@code maxConcurrency: 60})
 *       600 beside it, and a replica is SIGKILLed: every invocation succeeds, big's limit still
 *       holds while its lanes move, and one, served by one replica, never runs more than 25 at once.
 * </ul>
 *
 * Figures in {@code engine/target/lanes-report.txt}.
 */
@Alone
class LanesIT {
  private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "expired", "cancelled", "voided");
  /** Big's first flood: at 60 calls of 400 ms at once, a backlog of about 10 s, beside which the trickle's 400 run (8 s). */
  private static final int FLOOD = 1500;

  @Test
  void aTenantWithThreeLanesRunsOnThreeReplicasWithinItsLimitAcrossAKill() throws Exception {
    Path dir = Files.createTempDirectory("conveyor-lanes");
    Map<String, FunctionServer> fns = new HashMap<>();
    List<GatewayProcess> replicas = new ArrayList<>();
    ExecutorService clients = Executors.newFixedThreadPool(6);
    try {
      // 200 ms a call, but 2 s while big's first flood is being accepted, so that it piles up as a
      // backlog (the closed-loop clients keep the 2 cores busy while they send: nothing is measured
      // then), and 400 ms while that backlog drains beside the trickle: at 60 × 5 calls a second the
      // 2 cores (3 gateways, the broker, the test) are saturated (top: the broker's JVM 90 %, each
      // gateway 33 %), and the trickle's queue wait would measure the CPU's run queue.
      java.util.concurrent.atomic.AtomicLong callMs = new java.util.concurrent.atomic.AtomicLong(200);
      // When each of big's calls came, in which lane (its queue partition) and for how long: each
      // lane's peak (before the kill, a lane is one replica's), and the gap a dead replica's lane
      // shows until another replica runs it.
      List<long[]> bigCalls = new java.util.concurrent.CopyOnWriteArrayList<>();
      fns.put("big", new FunctionServer().behave(c -> {
        long ms = callMs.get();
        bigCalls.add(new long[] {System.nanoTime(), dev.conveyor.engine.api.InvocationIds.partition(c.invocationId(), 6), ms});
        return new FunctionServer.Answer(200, ms, null);
      }));
      fns.put("one", new FunctionServer().behave(c -> new FunctionServer.Answer(200, callMs.get(), null)));
      fns.put("trickle", new FunctionServer().behave(c -> new FunctionServer.Answer(200, 0, null)));
      String prefix = Gateways.prefix("lanes");
      String group = prefix + "dispatch";
      // Explicit partitions, so that no tenant shares a partition: big's lanes are 0, 2 and 4.
      Path config = dir.resolve("conveyor.yaml");
      Files.writeString(config, """
          server: { port: 0, adminPort: 0 }
          kafka: { bootstrapServers: "%s", topicPrefix: "%s", partitions: 6, replicationFactor: 1, deliveryTimeout: PT5S }
          tenants:
            - { name: big, namespaces: [big], partition: 0, apiKeys: [ { sha256: "%s", roles: [invoke, read] } ],
                limits: { maxConcurrency: 60, lanes: 3, ratePerSecond: 100000, burst: 100000 } }
            - { name: one, namespaces: [one], partition: 1, apiKeys: [ { sha256: "%s", roles: [invoke, read] } ],
                limits: { maxConcurrency: 60, ratePerSecond: 100000, burst: 100000 } }
            - { name: trickle, namespaces: [trickle], partition: 3, apiKeys: [ { sha256: "%s", roles: [invoke, read] } ] }
          functions:
            - { namespace: big, name: work, url: "%s", delivery: { timeout: PT5S } }
            - { namespace: one, name: work, url: "%s", delivery: { timeout: PT5S } }
            - { namespace: trickle, name: work, url: "%s" }
          dispatch: { group: "%s", maxInFlight: 25 }
          """.formatted(TestKafka.bootstrap(), prefix, ApiKeyAuthenticator.sha256Hex("big"), ApiKeyAuthenticator.sha256Hex("one"),
          ApiKeyAuthenticator.sha256Hex("trickle"), fns.get("big").url("/w"), fns.get("one").url("/w"), fns.get("trickle").url("/w"),
          group));
      List<Http> apis = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        int[] ports = Ports.free(3);
        Map<String, String> env = new HashMap<>();
        env.put("CONVEYOR_CONFIG", config.toString());
        env.put("CONVEYOR_DATA_DIR", dir.resolve("r" + r).toString());
        env.put("CONVEYOR_HTTP_PORT", Integer.toString(ports[0]));
        env.put("CONVEYOR_ADMIN_PORT", Integer.toString(ports[1]));
        env.put("CONVEYOR_EMBEDDED_KAFKA_PORT", Integer.toString(ports[2]));
        replicas.add(new GatewayProcess(env, Path.of("target", "lanes-" + r + ".log")).start());
        apis.add(new Http(ports[0]));
      }
      for (GatewayProcess p : replicas) p.awaitReady(Duration.ofSeconds(90));
      TestKafka.awaitStableGroup(group, 3, n -> n == 2);
      // One invocation of each tenant through each replica, run to its end: dispatch works everywhere
      // (and the lanes just gained are past their hand-over hold) before anything is measured.
      Map<String, String> tenantOf = new ConcurrentHashMap<>(); // id -> tenant (its key too)
      List<String> probes = new ArrayList<>();
      for (String t : List.of("big", "one", "trickle")) {
        for (Http api : apis) probes.add(accept(api, t, tenantOf));
      }
      awaitTerminal(apis.get(0), probes, tenantOf, Duration.ofSeconds(60));

      // The trickle alone first: its queue wait on these 2 cores with nothing else running.
      List<String> quiet = trickle(apis, tenantOf, 100, () -> false);
      awaitTerminal(apis.get(0), quiet, tenantOf, Duration.ofSeconds(30));
      long[] quietWaits = percentiles(apis.get(0), quiet);

      // Phase 1: big floods (its backlog accepted first), then trickle sends one invocation every
      // 20 ms, kept by a scheduler, while big's backlog drains.
      callMs.set(2000);
      List<Future<List<String>>> floods = new ArrayList<>();
      for (int c = 0; c < 4; c++) {
        int client = c;
        floods.add(clients.submit(() -> {
          List<String> ids = new ArrayList<>();
          for (int i = client; i < FLOOD; i += 4) ids.add(accept(apis.get(i % 3), "big", tenantOf));
          return ids;
        }));
      }
      List<String> phase1 = new ArrayList<>();
      for (Future<List<String>> f : floods) phase1.addAll(f.get(120, TimeUnit.SECONDS));
      callMs.set(400);
      int bigBacklog = FLOOD + 3 - fns.get("big").callsById().size(); // the flood and big's 3 probes
      List<String> trickle = trickle(apis, tenantOf, 400, () -> fns.get("big").callsById().size() >= FLOOD - 50);
      phase1.addAll(trickle);
      awaitTerminal(apis.get(0), phase1, tenantOf, Duration.ofSeconds(120));
      int bigPeak1 = fns.get("big").peakConcurrency();
      // Each lane's peak so far (one replica each), from the calls' starts and lengths.
      Map<Integer, Integer> lanePeaks = new java.util.TreeMap<>();
      for (int lanePartition : new int[] {0, 2, 4}) {
        java.util.TreeMap<Long, Integer> edges = new java.util.TreeMap<>();
        for (long[] call : bigCalls) {
          if (call[1] != lanePartition) continue;
          edges.merge(call[0], 1, Integer::sum);
          edges.merge(call[0] + call[2] * 1_000_000, -1, Integer::sum);
        }
        int now = 0;
        int peak = 0;
        for (int delta : edges.values()) peak = Math.max(peak, now += delta);
        lanePeaks.put(lanePartition, peak);
      }
      long[] floodWaits = percentiles(apis.get(0), trickle);
      long trickleP50 = floodWaits[0];
      long trickleP99 = floodWaits[1];

      // Phase 2: big floods again with one beside it, 200 ms a call, and a replica dies under them.
      callMs.set(200);
      int callsBefore = fns.get("big").callsById().size();
      Future<List<String>> second = clients.submit(() -> {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 1500; i++) ids.add(accept(apis.get(1 + i % 2), "big", tenantOf));
        return ids;
      });
      Future<List<String>> ones = clients.submit(() -> {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 600; i++) ids.add(accept(apis.get(1 + i % 2), "one", tenantOf));
        return ids;
      });
      await().atMost(Duration.ofSeconds(60)).until(() -> fns.get("big").callsById().size() >= callsBefore + 300);
      long killedAt = System.nanoTime();
      replicas.get(0).kill();
      List<String> phase2 = new ArrayList<>(second.get(120, TimeUnit.SECONDS));
      phase2.addAll(ones.get(120, TimeUnit.SECONDS));
      awaitTerminal(apis.get(1), phase2, tenantOf, Duration.ofSeconds(150));
      // The dead replica's lane: the one whose calls stopped at the kill for longest; its gap is the
      // time the lane took to run again elsewhere (the session timeout, the rebalance, the hold).
      long handoverMs = 0;
      for (int lanePartition : new int[] {0, 2, 4}) {
        Long before = null;
        Long after = null;
        for (long[] call : bigCalls) {
          if (call[1] != lanePartition) continue;
          if (call[0] <= killedAt) before = call[0];
          else if (after == null) after = call[0];
        }
        if (before != null && after != null) handoverMs = Math.max(handoverMs, (after - killedAt) / 1_000_000);
      }

      Set<String> all = new HashSet<>(tenantOf.keySet());
      for (String id : all) {
        assertThat(apis.get(1).status(id, tenantOf.get(id)).getString("status")).as(id).isEqualTo("succeeded");
      }
      int bigPeak = fns.get("big").peakConcurrency();
      int onePeak = fns.get("one").peakConcurrency();
      String report = ("bigPeakPhase1=%d bigPeakWithKill=%d onePeak=%d bigBacklogWhenTheTrickleBegan=%d trickleQueueWaitP50=%dms "
          + "trickleQueueWaitP99=%dms trickleSamples=%d trickleAloneP50=%dms trickleAloneP99=%dms invocations=%d bigCalls=%d "
          + "deadLaneRanAgainAfterMs=%d bigPeakPerLanePartitionBeforeTheKill=%s").formatted(bigPeak1, bigPeak, onePeak, bigBacklog,
          trickleP50, trickleP99, trickle.size(), quietWaits[0], quietWaits[1], all.size(), fns.get("big").calls().size(), handoverMs,
          lanePeaks);
      System.out.println("LanesIT: " + report);
      Files.writeString(Path.of("target", "lanes-report.txt"), report + "\n");
      assertThat(bigPeak1).as("big's peak concurrency with 3 lanes: more than one replica's 25").isGreaterThan(25);
      assertThat(onePeak).as("one was served beside big").isGreaterThan(0);
      assertThat(lanePeaks.values()).as("each lane's peak: its share of 60, on its own replica").allSatisfy(p -> assertThat(p)
          .isBetween(1, 20));
      assertThat(bigPeak).as("big's peak concurrency, the kill included").isLessThanOrEqualTo(60);
      assertThat(onePeak).as("one lane: one replica's maxInFlight at most").isLessThanOrEqualTo(25);
      assertThat(trickle.size()).as("trickle invocations sent while big's backlog drained").isGreaterThanOrEqualTo(100);
      // Under 100 ms, or (this box's own noise: 3 gateway JVMs and the broker on 2 cores give the
      // trickle alone a p99 of 60-70 ms) no worse than twice what it was alone in this same run.
      assertThat(trickleP99).as("the trickle's queue wait p99 while big's backlog drains (alone: %d ms)", quietWaits[1])
          .isLessThan(Math.max(100, 2 * quietWaits[1]));
      assertThat(fns.get("big").callsById().keySet()).as("every invocation of big ran")
          .containsAll(all.stream().filter(id -> tenantOf.get(id).equals("big")).toList());
    } finally {
      clients.shutdownNow();
      for (GatewayProcess p : replicas) p.close();
      for (FunctionServer f : fns.values()) f.close();
    }
  }

  private static String accept(Http api, String tenant, Map<String, String> tenantOf) {
    HttpResponse<String> r = api.invoke(tenant, tenant, "work", "{}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    String id = new JsonObject(r.body()).getString("id");
    tenantOf.put(id, tenant);
    return id;
  }

  /** Trickle invocations, one every 20 ms (a rate, kept by a scheduler), until {@code max} or {@code enough}. */
  private static List<String> trickle(List<Http> apis, Map<String, String> tenantOf, int max, java.util.function.BooleanSupplier enough)
      throws InterruptedException {
    List<String> ids = new java.util.concurrent.CopyOnWriteArrayList<>();
    var pace = Executors.newSingleThreadScheduledExecutor();
    pace.scheduleAtFixedRate(() -> {
      if (ids.size() < max) ids.add(accept(apis.get(ids.size() % 3), "trickle", tenantOf));
    }, 0, 20, TimeUnit.MILLISECONDS);
    await().atMost(Duration.ofSeconds(120)).until(() -> ids.size() >= max || enough.getAsBoolean());
    pace.shutdown();
    assertThat(pace.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    return ids;
  }

  /** p50 and p99 of the ids' queue waits, ms. */
  private static long[] percentiles(Http api, List<String> ids) {
    List<Long> waits = new ArrayList<>();
    for (String id : ids) waits.add(api.status(id, "trickle").getLong("queueWaitMs"));
    waits.sort(null);
    return new long[] {waits.get(waits.size() / 2), waits.get((int) Math.ceil(waits.size() * 0.99) - 1)};
  }

  private static void awaitTerminal(Http api, List<String> ids, Map<String, String> tenantOf, Duration atMost) {
    Set<String> open = ConcurrentHashMap.newKeySet();
    open.addAll(ids);
    await().atMost(atMost).pollInterval(Duration.ofMillis(500)).until(() -> {
      open.removeIf(id -> TERMINAL.contains(api.status(id, tenantOf.get(id)).getString("status")));
      return open.isEmpty();
    });
  }
}
