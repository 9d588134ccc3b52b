package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.queue.InvocationCodec;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * How an unknown outcome is settled, made deterministic: the copy a frozen broker appends after the
 * producer gave up is written here by hand, before or after the fence a lookup appends. A copy after
 * the fence never runs and the id answers {@code invocation_not_stored}; a copy before it is found
 * and runs once. And one idempotency key sent at once to two replicas is one invocation, run once.
 */
class StoreOutcomeIT {
  static FunctionServer fn;
  static Conveyor a;
  static Conveyor b;
  static Http httpA;
  static Http httpB;
  static String prefix;
  static KafkaProducer<String, byte[]> raw;

  @BeforeAll
  static void start() {
    fn = new FunctionServer();
    prefix = Gateways.prefix("outcome");
    // concurrency 1: a function's invocations start in queue order, so once a later one ran, every
    // earlier copy on the partition has either started or been dropped.
    String yaml = Gateways.yaml(TestKafka.bootstrap(), prefix,
        "- { namespace: acme, name: one, url: \"" + fn.url("/one") + "\", concurrency: 1 }", null);
    a = Gateways.start(yaml);
    b = Gateways.start(yaml);
    // B's joining rebalances the dispatch group, and A learns of it only at its next heartbeat (3 s):
    // an eager rebalance then hands the queue's partitions over while these tests run, and a handover
    // may deliver an invocation twice (at least once). These tests are about fences, not handovers.
    TestKafka.awaitStableGroup(prefix + "dispatch", 2, n -> n > 0);
    httpA = new Http(a.httpPort());
    httpB = new Http(b.httpPort());
    raw = new KafkaProducer<>(Map.of("bootstrap.servers", TestKafka.bootstrap(), "acks", "all"), new StringSerializer(),
        new ByteArraySerializer());
  }

  @AfterAll
  static void stop() {
    if (raw != null) raw.close();
    if (a != null) a.close();
    if (b != null) b.close();
    if (fn != null) fn.close();
  }

  /** The acme tenant's queue partition, read off an id the gateway minted. */
  private static int partition() {
    String id = new JsonObject(httpA.invoke(ACME_KEY, "acme", "one", "{\"probe\":1}").body()).getString("id");
    // At least once: a wait for exactly one call never ends if a second comes before it looks.
    await().atMost(Duration.ofSeconds(30)).until(() -> fn.callsFor(id) >= 1);
    return InvocationIds.partition(id, 3);
  }

  /** What a frozen broker would append late: a copy of {@code id}, written straight to the queue. */
  private static void copy(String id, int partition, String payload) throws Exception {
    Invocation inv = new Invocation(id, "acme", "acme", "one", "application/json", payload.getBytes(StandardCharsets.UTF_8), null,
        Map.of(), Instant.ofEpochMilli(InvocationIds.millis(id).getAsLong()), null, null, null, "http");
    raw.send(InvocationCodec.encode(prefix + "invocations", partition, inv,
        dev.conveyor.engine.config.ConveyorConfig.QueueHeaders.perField)).get(10, TimeUnit.SECONDS);
  }

  /** A later invocation that has run: the partition has been dispatched past everything before it. */
  private static void passed() {
    String marker = new JsonObject(httpA.invoke(ACME_KEY, "acme", "one", "{\"marker\":1}").body()).getString("id");
    await().atMost(Duration.ofSeconds(30)).until(() -> fn.callsFor(marker) >= 1);
  }

  @Test
  void aLookupFencesAnIdThatIsNotOnTheQueueAndACopyAppendedLaterNeverRuns() throws Exception {
    int p = partition();
    String lost = InvocationIds.next(System.currentTimeMillis(), p, 3, 0, true);

    HttpResponse<String> first = httpB.get("/v1/invocations/" + lost, ACME_KEY);
    assertThat(first.statusCode()).isEqualTo(404);
    assertThat(new JsonObject(first.body()).getString("error")).isEqualTo("invocation_not_stored");

    copy(lost, p, "{\"late\":1}");
    passed();
    assertThat(fn.callsFor(lost)).as("a copy after the fence was never stored").isZero();
    // The verdict holds on every replica, from the status topic, without another fence.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      HttpResponse<String> r = httpA.get("/v1/invocations/" + lost, ACME_KEY);
      assertThat(r.statusCode()).isEqualTo(404);
      assertThat(new JsonObject(r.body()).getString("error")).isEqualTo("invocation_not_stored");
    });
    // And after the dispatcher reads the verdict from the status topic (not its memory): another copy.
    copy(lost, p, "{\"later\":1}");
    passed();
    assertThat(fn.callsFor(lost)).isZero();
  }

  @Test
  void aCopyBeforeTheFenceIsStoredAndRunsOnce() throws Exception {
    int p = partition();
    String stored = InvocationIds.next(System.currentTimeMillis(), p, 3, 0, true);
    copy(stored, p, "{\"landed\":1}");

    HttpResponse<String> r = httpB.get("/v1/invocations/" + stored, ACME_KEY);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(new JsonObject(r.body()).getString("status")).isIn("queued", "running", "succeeded");
    await().atMost(Duration.ofSeconds(30)).until(() -> fn.callsFor(stored) >= 1);
    passed();
    assertThat(fn.callsFor(stored)).isEqualTo(1);
  }

  @Test
  void oneIdempotencyKeySentAtOnceToTwoReplicasIsOneInvocationThatRunsOnce() throws Exception {
    for (int k = 0; k < 5; k++) {
      String key = "race-" + k + "-" + System.nanoTime();
      List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        Http via = i % 2 == 0 ? httpA : httpB;
        sent.add(via.sendAsync(via.request("/v1/namespaces/acme/functions/one/invocations", ACME_KEY)
            .header("idempotency-key", key).POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"" + key + "\"}")).build()));
      }
      Set<String> ids = new HashSet<>();
      for (var f : sent) {
        HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        ids.add(new JsonObject(r.body()).getString("id"));
      }
      assertThat(ids).as("every replica derives the same id from the key").hasSize(1);
      String id = ids.iterator().next();
      assertThat(InvocationIds.derived(id)).isTrue();
      await().atMost(Duration.ofSeconds(30)).until(() -> fn.callsFor(id) >= 1);
      passed();
      assertThat(fn.callsFor(id)).as("copies of one id run once").isEqualTo(1);
      assertThat(httpB.status(id, ACME_KEY).getString("status")).isEqualTo("succeeded");
    }
  }
}
