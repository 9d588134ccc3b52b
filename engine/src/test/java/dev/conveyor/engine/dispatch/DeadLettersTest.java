package dev.conveyor.engine.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.Invocation;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** A dead letter is read by people and their tools: every field in a header of its own, by its documented name. */
class DeadLettersTest {
  @Test
  void aDeadLetterHasThePayloadAndOneReadableHeaderPerField() {
    List<ProducerRecord<String, byte[]>> sent = new ArrayList<>();
    DeadLetters dl = new DeadLetters(r -> {
      sent.add(r);
      return Future.succeededFuture();
    });
    byte[] payload = "{\"order\":1}".getBytes(StandardCharsets.UTF_8);
    Invocation inv = new Invocation("id-1", "acme", "shop", "charge", "application/json", payload, null,
        Map.of("ce-type", "order.created"), Instant.ofEpochMilli(1234), null, "00-abc-def-01", null, "http");
    dl.write("conveyor.deadletter", inv, 3, 503, "Service Unavailable");

    assertThat(sent).singleElement().satisfies(r -> {
      assertThat(r.topic()).isEqualTo("conveyor.deadletter");
      assertThat(r.key()).isEqualTo("id-1");
      assertThat(r.value()).isEqualTo(payload);
      Map<String, String> h = new LinkedHashMap<>();
      r.headers().forEach(x -> h.put(x.key(), new String(x.value(), StandardCharsets.UTF_8)));
      assertThat(h).containsEntry("conveyor-id", "id-1").containsEntry("conveyor-tenant", "acme")
          .containsEntry("conveyor-namespace", "shop").containsEntry("conveyor-function", "charge")
          .containsEntry("content-type", "application/json").containsEntry("conveyor-accepted-at", "1234")
          .containsEntry("traceparent", "00-abc-def-01").containsEntry("pass-ce-type", "order.created")
          .containsEntry("conveyor-attempts", "3").containsEntry("knativeerrorcode", "503")
          .containsEntry("knativeerrordata", "Service Unavailable").doesNotContainKey("conveyor-invocation");
    });
  }
}
