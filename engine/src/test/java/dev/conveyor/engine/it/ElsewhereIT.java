package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * Attempts the status topic shows running on another replica count against the tenant's
 * {@code maxConcurrency}: with all 3 of acme's slots taken elsewhere (by a replica that then died
 * and never ends them), a new invocation waits, and runs once those attempts are stale (the
 * function's timeout plus 10 s), with no other event to wake the dispatcher.
 */
@Beside
class ElsewhereIT {

  @Test
  void attemptsRunningElsewhereHoldTheTenantsSlotsUntilTheyEndOrGoStale() throws Exception {
    try (FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("elsewhere"),
             "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\", delivery: { timeout: PT1S } }", null)
             .replace("limits: { maxPayloadBytes: 65536 }", "limits: { maxPayloadBytes: 65536, maxConcurrency: 3 }"))) {
      Instant started = Instant.now();
      try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.<String, Object>of("bootstrap.servers", TestKafka.bootstrap()),
          new StringSerializer(), new ByteArraySerializer())) {
        for (int i = 0; i < 3; i++) {
          Invocation other = new Invocation(InvocationIds.next(started.toEpochMilli()), "acme", "acme", "echo", null, new byte[0],
              null, Map.of(), started, null, null, null, "http");
          p.send(gw.statusStore().record(InvocationStatus.queued(other).running(1, started), null)).get(10, TimeUnit.SECONDS);
        }
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> gw.statusStore().running("acme").size() == 3);
      Http http = new Http(gw.httpPort());
      String id = new JsonObject(http.invoke(ACME_KEY, "acme", "echo", "{}").body()).getString("id");
      await().atMost(Duration.ofSeconds(40)).until(() -> fn.callsFor(id) == 1);
      Instant ran = Instant.now();
      assertThat(Duration.between(started, ran)).as("waited for the stale attempts (timeout 1 s + 10 s)")
          .isGreaterThanOrEqualTo(Duration.ofSeconds(10));
    }
  }
}
