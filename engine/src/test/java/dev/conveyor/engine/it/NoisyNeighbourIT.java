package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.FunctionServer;
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
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Tenant A floods 8,000 invocations at a slow function with {@code maxConcurrency: 5} (served at
 * 250 a second, so its backlog lasts far beyond B's 5 s); tenant B then sends 250, 50 a second, with
 * the same limit. B's queue wait stays low (p99 under 1 s)
 * because A's backlog waits in A's own partition and A's slots, and neither function ever sees more
 * than 5 concurrent calls. The figures go to {@code engine/target/noisy-neighbour-report.txt}.
 */
@Alone
class NoisyNeighbourIT {
  private static final String A_KEY = "tenant-a-key";
  private static final String B_KEY = "tenant-b-key";

  @Test
  void aFloodingTenantNeitherStarvesAnotherNorExceedsItsConcurrency() throws Exception {
    try (FunctionServer fnA = new FunctionServer().behave(c -> new FunctionServer.Answer(200, 20, null));
         FunctionServer fnB = new FunctionServer().behave(c -> new FunctionServer.Answer(200, 20, null))) {
      String prefix = Gateways.prefix("noisy");
      String yaml = """
          server: { port: 0, adminPort: 0, warmUp: PT0S }
          kafka: { bootstrapServers: "%s", topicPrefix: "%s", partitions: 3, replicationFactor: 1, deliveryTimeout: PT5S }
          tenants:
            - name: a
              namespaces: [a]
              apiKeys: [ { sha256: "%s", roles: [invoke, read] } ]
              limits: { maxConcurrency: 5, ratePerSecond: 1000000, burst: 1000000, maxQueued: 1000000 }
            - name: b
              namespaces: [b]
              apiKeys: [ { sha256: "%s", roles: [invoke, read] } ]
              limits: { maxConcurrency: 5, ratePerSecond: 1000000, burst: 1000000 }
          functions:
            - { namespace: a, name: slow, url: "%s" }
            - { namespace: b, name: slow, url: "%s" }
          dispatch: { group: "%sdispatch", maxInFlight: 512 }
          """.formatted(TestKafka.bootstrap(), prefix, ApiKeyAuthenticator.sha256Hex(A_KEY), ApiKeyAuthenticator.sha256Hex(B_KEY),
          fnA.url("/slow"), fnB.url("/slow"), prefix);
      try (Conveyor gw = Gateways.start(yaml)) {
        Http http = new Http(gw.httpPort());
        int flood = 8_000;
        List<String> aIds = send(http, A_KEY, "a", flood, 0);
        assertThat(aIds).hasSize(flood);
        int aCallsBeforeB = fnA.calls().size();
        List<String> bIds = send(http, B_KEY, "b", 250, 50);
        await().atMost(Duration.ofSeconds(60)).until(() -> fnB.callsById().size() == bIds.size());
        List<Long> waits = new ArrayList<>();
        for (String id : bIds) {
          JsonObject st = http.status(id, B_KEY);
          waits.add(st.getLong("queueWaitMs"));
        }
        Collections.sort(waits);
        long p50 = waits.get(waits.size() / 2);
        long p99 = waits.get((int) Math.ceil(waits.size() * 0.99) - 1);
        int aDone = fnA.calls().size();
        String report = """
            noisy neighbour: tenant a flooded %d invocations (maxConcurrency 5, function 20 ms); tenant b sent %d at 50/s
            b queue wait: p50 %d ms, p99 %d ms, max %d ms
            peak concurrent calls: a %d, b %d
            a's calls: %d when b started, %d when b's last finished (a is served all along, at its own limit)
            """.formatted(flood, bIds.size(), p50, p99, waits.get(waits.size() - 1), fnA.peakConcurrency(), fnB.peakConcurrency(),
            aCallsBeforeB, aDone);
        Files.writeString(Path.of("target", "noisy-neighbour-report.txt"), report);
        System.out.print(report);
        assertThat(p99).as("b's queue wait p99 (ms)").isLessThan(1000);
        assertThat(fnA.peakConcurrency()).isLessThanOrEqualTo(5);
        assertThat(fnB.peakConcurrency()).isLessThanOrEqualTo(5);
        assertThat(aDone).as("a kept being served").isGreaterThan(aCallsBeforeB);
        assertThat(gw.metrics().scrape()).contains("conveyor_inflight{tenant=\"a\"}");
        // a's flood waits behind its own limit: its oldest waiting invocation is seconds old (ConveyorOldestQueuedAge reads it).
        assertThat(oldestWaiting(gw.metrics().scrape(), "a")).as("a's oldest waiting (s)").isGreaterThan(1.0);
      }
    }
  }

  /** {@code conveyor_queue_oldest_waiting_seconds} of {@code tenant} in Prometheus text; -1 when absent. */
  private static double oldestWaiting(String scrape, String tenant) {
    String series = "conveyor_queue_oldest_waiting_seconds{tenant=\"" + tenant + "\"} ";
    for (String line : scrape.split("\n")) {
      if (line.startsWith(series)) return Double.parseDouble(line.substring(series.length()).trim());
    }
    return -1;
  }

  /** Sends {@code n} async invokes, {@code perSecond} a second (0: as fast as 64 connections go); the ids. */
  private static List<String> send(Http http, String key, String ns, int n, int perSecond) throws Exception {
    ConcurrentLinkedQueue<String> ids = new ConcurrentLinkedQueue<>();
    Semaphore window = new Semaphore(64);
    AtomicInteger failed = new AtomicInteger();
    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    long start = System.nanoTime();
    for (int i = 0; i < n; i++) {
      if (perSecond > 0) {
        long due = start + i * 1_000_000_000L / perSecond;
        while (System.nanoTime() < due) LockSupport.parkNanos(due - System.nanoTime()); // pacing the load, not waiting for a result
      }
      window.acquire();
      HttpRequest req = http.request("/v1/namespaces/" + ns + "/functions/slow/invocations", key)
          .POST(HttpRequest.BodyPublishers.ofString("{\"i\":" + i + "}")).build();
      all.add(http.sendAsync(req).whenComplete((r, err) -> {
        window.release();
        if (err == null && r.statusCode() == 202) ids.add(new JsonObject(r.body()).getString("id"));
        else failed.incrementAndGet();
      }));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(e -> null).join();
    assertThat(failed.get()).as("invokes not answered 202").isZero();
    return new ArrayList<>(ids);
  }
}
