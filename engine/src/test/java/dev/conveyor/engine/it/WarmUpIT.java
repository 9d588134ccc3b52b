package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.WarmUp;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

/**
 * The warm-up before readiness drives the real accept path and touches nothing of a tenant's: its
 * writes are on the warm-up topic only, never on the queue, status or usage topics; its tenant
 * appears in no metric; its invocations are unknown to the API; the API works as before after it.
 */
@Alone
class WarmUpIT {
  @Test
  void warmsUpThroughTheAcceptPathAndLeavesNoTraceInTenantsData() throws Exception {
    String prefix = Gateways.prefix("warm");
    try (FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), prefix,
             "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", "dispatch: { enabled: false }")
             .replace("warmUp: PT0S", "warmUp: PT4S"))) {
      WarmUp.Result warm = gw.warmUpResult();
      assertThat(warm.accepted()).as("accepts the warm-up got 202 for").isGreaterThan(500);
      assertThat(warm.failed()).isZero();
      assertThat(warm.perSecond()).isNotEmpty();
      assertThat(warm.took()).isLessThan(Duration.ofSeconds(10));

      var topics = gw.topics();
      assertThat(records(topics.warmUp())).as("the warm-up's records").isGreaterThanOrEqualTo(warm.accepted());
      assertThat(records(topics.invocations())).as("the queue").isZero();
      assertThat(records(topics.status())).as("the status topic").isZero();
      assertThat(records(topics.usage())).as("the usage topic").isZero();

      HttpClient client = HttpClient.newHttpClient();
      String metrics = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.adminPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertThat(metrics).contains("conveyor_").doesNotContain(WarmUp.NAME);

      // The API after the warm-up: a caller's accept is queued, and it is the queue's only record.
      Http http = new Http(gw.httpPort());
      var accepted = http.invoke(ACME_KEY, "acme", "echo", "{\"n\":1}");
      assertThat(accepted.statusCode()).isEqualTo(202);
      assertThat(records(topics.invocations())).isEqualTo(1);

      // One of the warm-up's invocations, as a caller would look it up: unknown.
      String warmId = firstKey(topics.warmUp());
      assertThat(http.get("/v1/invocations/" + warmId, ACME_KEY).statusCode()).isEqualTo(404);
    }
  }

  private static KafkaConsumer<String, byte[]> consumer() {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", TestKafka.bootstrap());
    return new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer());
  }

  /** Records written to {@code topic} (end offsets; these topics have no transactions). */
  private static long records(String topic) {
    try (var c = consumer()) {
      var parts = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
      return c.endOffsets(parts).values().stream().mapToLong(Long::longValue).sum();
    }
  }

  private static String firstKey(String topic) {
    try (var c = consumer()) {
      var parts = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      for (int i = 0; i < 50; i++) {
        for (var r : c.poll(Duration.ofMillis(200))) return r.key();
      }
      throw new AssertionError("no record on " + topic);
    }
  }
}
