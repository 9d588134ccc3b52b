package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The usage forwarder against a local billing receiver that keeps a ledger by event id, as
 * OpenMeter does: it first fails twice (503), then takes a batch but answers too late (the
 * forwarder's timeout), then answers 409 to a batch it already has. Every usage event ends in the
 * ledger, none twice, and the forwarder moved past the duplicate answer.
 */
@Beside
class UsageForwarderIT {

  @Test
  void everyUsageEventReachesTheLedgerOnceThroughFailuresTimeoutsAndDuplicates() throws Exception {
    Vertx vertx = Vertx.vertx();
    Set<String> ledger = ConcurrentHashMap.newKeySet();
    AtomicInteger requests = new AtomicInteger();
    AtomicInteger duplicates = new AtomicInteger();
    AtomicInteger delivered = new AtomicInteger();
    AtomicInteger wrongType = new AtomicInteger();
    HttpServer receiver = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      int n = requests.incrementAndGet();
      if (n <= 2) {
        req.response().setStatusCode(503).end();
        return;
      }
      if (!"application/cloudevents-batch+json".equals(req.getHeader("content-type"))) wrongType.incrementAndGet();
      JsonArray events = new JsonArray(body);
      delivered.addAndGet(events.size());
      boolean anyNew = false;
      for (Object e : events) anyNew |= ledger.add(((JsonObject) e).getString("source") + "|" + ((JsonObject) e).getString("id"));
      if (n == 3) {
        vertx.setTimer(2500, t -> req.response().setStatusCode(200).end()); // taken, but the answer comes too late
      } else if (!anyNew) {
        duplicates.incrementAndGet();
        req.response().setStatusCode(409).end();
      } else {
        req.response().setStatusCode(200).end();
      }
    }));
    receiver.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    String prefix = Gateways.prefix("forward");
    try (FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), prefix,
             "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", """
             metering:
               source: "//conveyor/forward-test"
               forward: { url: "http://127.0.0.1:%d/api/v1/events", batchSize: 20, timeout: PT1S, backoffMax: PT0.5S }
             """.formatted(receiver.actualPort())))) {
      Http http = new Http(gw.httpPort());
      for (int i = 0; i < 50; i++) assertThat(http.invoke(ACME_KEY, "acme", "echo", "{}").statusCode()).isEqualTo(202);
      List<JsonObject> usage = AsyncInvocationIT.usageRecords(gw, u -> true, 50);
      await().atMost(Duration.ofSeconds(60)).until(() -> ledger.size() == 50);
      assertThat(usage).allSatisfy(u -> assertThat(ledger).contains("//conveyor/forward-test|" + u.getString("id")));
      assertThat(wrongType.get()).as("batches not sent as application/cloudevents-batch+json").isZero();
      assertThat(duplicates.get()).as("the batch whose answer timed out came again, and its 409 was taken as done").isPositive();
      assertThat(delivered.get()).as("sent again only what was not known to be taken").isLessThan(50 + 3 * 20);
      await().atMost(Duration.ofSeconds(20)).until(() -> gw.metrics().scrape().contains("conveyor_usage_forward_lag 0.0"));
      assertThat(gw.metrics().scrape()).contains("conveyor_usage_forwarded_total{outcome=\"taken\"}");
    } finally {
      vertx.close();
    }
    // Stopped, the forwarder left its group (another replica takes its partitions at once, not after
    // the session's timeout), though its stop interrupts it.
    String group = prefix + "dispatch-usage-forward";
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
        java.util.Map.of("bootstrap.servers", TestKafka.bootstrap()))) {
      var g = admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group);
      assertThat(g.groupState()).as("the group %s right after the gateway stopped", group).isEqualTo(org.apache.kafka.common.GroupState.EMPTY);
      assertThat(g.members()).isEmpty();
    }
  }
}
