package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.engine.api.Invocation;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class UsageEmitterTest {
  @Test
  void shouldFormatTimesAsRfc3339WithMillisecondsLikeTheFormatter() {
    for (String t : new String[] {"2026-03-01T10:00:00Z", "2026-03-01T10:00:00.007Z", "2026-03-01T10:00:00.070Z",
        "2026-12-31T23:59:59.999Z", "2026-01-09T05:04:03.100999Z", "1999-02-03T04:05:06.123Z", "0900-01-01T00:00:00Z"}) {
      Instant i = Instant.parse(t);
      assertThat(UsageEmitter.rfc3339Millis(i)).as(t).isEqualTo(UsageEmitter.RFC3339_MS.format(i));
    }
    assertThat(UsageEmitter.rfc3339Millis(Instant.parse("2026-03-01T10:00:00Z"))).isEqualTo("2026-03-01T10:00:00.000Z");
  }

  @Test
  void shouldWriteTheRecordItsHeadersAndNullsAsTheSpecFixesThem() throws Exception {
    Invocation inv = new Invocation("0197ab2c-1111-7222-8333-444455556666", "acme", "acme", "resize", null, new byte[12], null,
        Map.of(), Instant.parse("2026-03-01T10:00:00Z"), null, null, null, "http");
    UsageEmitter e = new UsageEmitter(null, "conveyor.usage", "//conveyor/test", 100);
    UsageEmitter.Attempt a = new UsageEmitter.Attempt(inv, 2, InvocationMode.async, "http", AttemptOutcome.timeout, null, Instant.parse("2026-03-01T10:00:01Z"),
        Instant.parse("2026-03-01T10:00:01.234Z"), false, 0, 5, 256, 12, 0, null);
    ProducerRecord<String, byte[]> r = e.record(a);
    assertThat(r.key()).isEqualTo("acme");
    assertThat(new String(r.headers().lastHeader("ce_id").value(), StandardCharsets.UTF_8)).isEqualTo(inv.id() + ":2");
    assertThat(new String(r.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8)).isEqualTo("application/cloudevents+json");
    ObjectNode ce = e.event(a);
    assertThat(ce.path("time").asText()).isEqualTo("2026-03-01T10:00:01.234Z");
    assertThat(ce.has("traceparent")).isFalse();
    ObjectNode d = (ObjectNode) ce.path("data");
    assertThat(d.path("billedDurationMs").asLong()).isEqualTo(300);
    assertThat(d.path("gibSeconds").asText()).isEqualTo("0.075000000");
    for (String nullable : new String[] {"revision", "idempotencyKey", "httpStatus", "traceId"}) {
      assertThat(d.has(nullable) && d.get(nullable).isNull()).as(nullable + " is present and null").isTrue();
    }
  }
}
