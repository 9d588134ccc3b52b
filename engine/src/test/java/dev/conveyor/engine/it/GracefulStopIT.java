package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.GatewayProcess;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.Ports;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Graceful stop under load, as Kubernetes does it: two replicas behind a load balancer that sends
 * only to replicas whose {@code /readyz} says ready (polled every 100 ms, as an endpoints controller
 * and a proxy would follow it), each stopped with SIGTERM in turn and started again. Every request
 * that reached a replica must be answered; nothing accepted may be lost, and nothing may run whose
 * client got no 202. The tenant spreads over all three queue partitions (3 lanes), and before each
 * restart the tenants list is written in the other order (a tenant's lanes depend on its name, not
 * its place in the list). Delivery is at least once: an invocation a replica is running when its
 * partition moves may run again on the new owner, so runs twice are counted, not forbidden.
 */
@Alone
class GracefulStopIT {
  private static final String KEY = "stop-key";

  /** One replica as the load balancer sees it. */
  private static final class Replica {
    final int httpPort;
    final int adminPort;
    final GatewayProcess process;
    volatile boolean ready;

    Replica(Map<String, String> env, Path log) {
      this.httpPort = Integer.parseInt(env.get("CONVEYOR_HTTP_PORT"));
      this.adminPort = Integer.parseInt(env.get("CONVEYOR_ADMIN_PORT"));
      this.process = new GatewayProcess(env, log);
    }
  }

  @Test
  void replicasStoppedWithSigtermInTurnAnswerEveryRequestTheyTookAndLoseNothing() throws Exception {
    Path dir = Files.createTempDirectory("conveyor-stop");
    String prefix = Gateways.prefix("stop");
    try (FunctionServer fn = new FunctionServer().behave(c -> new Answer(200, c.path().equals("/slow") ? 50 : 5, null))) {
      Path config = dir.resolve("conveyor.yaml");
      String acme = "  - { name: acme, namespaces: [acme], limits: { lanes: 3 }, apiKeys: [ { sha256: \"%s\", roles: [invoke, read] } ] }\n"
          .formatted(ApiKeyAuthenticator.sha256Hex(KEY));
      String zeta = "  - { name: zeta, namespaces: [zeta] }\n";
      java.util.function.IntFunction<String> yaml = order -> """
          server: { drainDelay: PT2S, shutdownTimeout: PT10S }
          kafka: { bootstrapServers: "%s", topicPrefix: "%s", partitions: 3, replicationFactor: 1 }
          tenants:
          %s
          functions:
            - { namespace: acme, name: work, url: "%s", delivery: { retry: 3, backoffDelay: PT0.05S } }
            - { namespace: acme, name: slow, url: "%s" }
          dispatch: { group: "%sdispatch" }
          """.formatted(TestKafka.bootstrap(), prefix, order % 2 == 0 ? acme + zeta : zeta + acme, fn.url("/work"), fn.url("/slow"),
          prefix);
      Files.writeString(config, yaml.apply(0));
      int[] ports = Ports.free(4);
      Replica[] replicas = new Replica[2];
      for (int i = 0; i < 2; i++) {
        Map<String, String> env = Map.of("CONVEYOR_CONFIG", config.toString(),
            "CONVEYOR_DATA_DIR", dir.resolve("data" + i).toString(),
            "CONVEYOR_HTTP_PORT", Integer.toString(ports[2 * i]),
            "CONVEYOR_ADMIN_PORT", Integer.toString(ports[2 * i + 1]));
        replicas[i] = new Replica(env, Path.of("target", "stop-gateway-" + i + ".log"));
        replicas[i].process.start();
      }
      for (Replica r : replicas) r.process.awaitReady(Duration.ofSeconds(90));

      HttpClient probe = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
      AtomicBoolean go = new AtomicBoolean(true);
      ExecutorService threads = Executors.newFixedThreadPool(6);
      // The load balancer's view: readiness, every 100 ms.
      threads.submit(() -> {
        while (go.get()) {
          for (Replica r : replicas) {
            try {
              r.ready = probe.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.adminPort + "/readyz"))
                  .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
              r.ready = false;
            } catch (InterruptedException e) {
              return;
            }
          }
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100)); // the probe period, not a wait for anything
        }
      });
      Set<String> accepted = ConcurrentHashMap.newKeySet();
      AtomicInteger answered = new AtomicInteger();
      AtomicInteger syncAnswered = new AtomicInteger();
      AtomicInteger refusedConnections = new AtomicInteger();
      AtomicInteger unanswered = new AtomicInteger();
      AtomicLong turn = new AtomicLong();
      List<String> lost = new java.util.concurrent.CopyOnWriteArrayList<>();
      // Two senders of async invocations, two of 50 ms sync calls (so that calls are in flight at every SIGTERM).
      for (int s = 0; s < 4; s++) {
        boolean sync = s % 2 == 1;
        threads.submit(() -> {
          Http[] http = {new Http(replicas[0].httpPort), new Http(replicas[1].httpPort)};
          while (go.get()) {
            int i = (int) (turn.getAndIncrement() % 2);
            if (!replicas[i].ready) i = 1 - i;
            if (!replicas[i].ready) {
              LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
              continue;
            }
            try {
              HttpResponse<String> r = http[i].send(http[i].request("/v1/namespaces/acme/functions/"
                  + (sync ? "slow" : "work/invocations"), KEY).timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString("{}")).build());
              answered.incrementAndGet();
              if (!sync && r.statusCode() == 202) accepted.add(new JsonObject(r.body()).getString("id"));
              if (sync && r.statusCode() == 200) syncAnswered.incrementAndGet();
            } catch (java.io.UncheckedIOException e) {
              if (e.getCause() instanceof ConnectException) refusedConnections.incrementAndGet(); // never sent
              else {
                unanswered.incrementAndGet();
                lost.add(e.getCause().toString());
              }
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // pacing: at most 100 requests/s per sender
          }
        });
      }
      try {
        int restarts = 0;
        for (Replica r : replicas) {
          await().atMost(Duration.ofSeconds(10)).until(() -> accepted.size() > 100);
          int before = accepted.size();
          assertThat(r.process.terminate()).as("exit code after SIGTERM").isZero();
          assertThat(accepted.size()).as("the other replica took the load").isGreaterThan(before);
          Files.writeString(config, yaml.apply(++restarts)); // the running replica reloads it too
          r.process.start().awaitReady(Duration.ofSeconds(90));
          int restarted = accepted.size();
          await().atMost(Duration.ofSeconds(10)).until(() -> accepted.size() > restarted + 100);
        }
      } finally {
        go.set(false);
        threads.shutdown();
        threads.awaitTermination(30, TimeUnit.SECONDS);
      }
      try {
        System.out.printf("GracefulStopIT: %d answered (%d async accepted, %d sync 200), %d unanswered, %d connections refused (never sent)%n",
            answered.get(), accepted.size(), syncAnswered.get(), unanswered.get(), refusedConnections.get());
        assertThat(lost).as("requests that reached a stopping replica and got no answer").isEmpty();
        assertThat(unanswered.get()).isZero();
        await().atMost(Duration.ofSeconds(60)).until(() -> accepted.stream().allMatch(id -> fn.callsFor(id) > 0));
        System.out.printf("GracefulStopIT: %d accepted invocations ran more than once%n", accepted.stream().filter(id -> fn.callsFor(id) > 1).count());
        assertThat(accepted.stream().map(id -> dev.conveyor.engine.api.InvocationIds.partition(id, 3)).distinct().count())
            .as("queue partitions the tenant's invocations went to").isEqualTo(3);
        Set<String> asyncRan = fn.calls().stream().filter(c -> c.path().equals("/work")).map(FunctionServer.Call::invocationId)
            .collect(java.util.stream.Collectors.toSet());
        assertThat(asyncRan).as("nothing ran whose client got no 202").isSubsetOf(accepted);
        assertThat(syncAnswered.get()).isPositive();
      } finally {
        for (Replica r : replicas) r.process.close();
      }
    }
  }
}
