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

  @Test
  void everyMemberReadsBackAsGivenWithCharactersJsonMustEscape() throws Exception {
    String odd = "q\"b\\s/\u0001\tü\u2028€𝄞";
    Invocation inv = new Invocation("0197ab2c-1111-7222-8333-444455556666", "t" + odd, "ns" + odd, "f" + odd, null, new byte[3], null,
        Map.of(), Instant.parse("2026-03-01T10:00:00Z"), "key" + odd, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        null, "kafka:" + odd);
    UsageEmitter e = new UsageEmitter(null, "conveyor.usage", "//conveyor/" + odd, 1);
    UsageEmitter.Attempt a = new UsageEmitter.Attempt(inv, 7, InvocationMode.sync, inv.trigger(), AttemptOutcome.success, 201,
        Instant.parse("2026-03-01T10:00:01.5Z"), Instant.parse("2026-03-01T10:00:03.25Z"), true, 1_500, 90_000_000_000L, 128, 3,
        Long.MAX_VALUE, "r" + odd);
    com.fasterxml.jackson.databind.JsonNode ce = new com.fasterxml.jackson.databind.ObjectMapper().readTree(e.record(a).value());
    Map<String, Object> want = new java.util.LinkedHashMap<>();
    want.put("specversion", "1.0");
    want.put("type", UsageEmitter.TYPE);
    want.put("source", "//conveyor/" + odd);
    want.put("id", inv.id() + ":7");
    want.put("subject", inv.tenant());
    want.put("time", "2026-03-01T10:00:03.250Z");
    want.put("datacontenttype", "application/json");
    want.put("partitionkey", inv.tenant());
    want.put("traceparent", inv.traceparent());
    for (var m : want.entrySet()) assertThat(ce.path(m.getKey()).asText()).as(m.getKey()).isEqualTo(m.getValue());
    com.fasterxml.jackson.databind.JsonNode d = ce.path("data");
    Map<String, Object> data = new java.util.LinkedHashMap<>();
    data.put("tenant", inv.tenant());
    data.put("namespace", inv.namespace());
    data.put("function", inv.function());
    data.put("revision", "r" + odd);
    data.put("invocationId", inv.id());
    data.put("attempt", 7L);
    data.put("idempotencyKey", "key" + odd);
    data.put("mode", "sync");
    data.put("trigger", "kafka:" + odd);
    data.put("outcome", "success");
    data.put("httpStatus", 201L);
    data.put("startTime", "2026-03-01T10:00:01.500Z");
    data.put("endTime", "2026-03-01T10:00:03.250Z");
    data.put("durationMs", 1_750L);
    data.put("billedDurationMs", 1_750L);
    data.put("coldStart", true);
    data.put("coldStartMs", 1_500L);
    data.put("queueWaitMs", 90_000_000_000L);
    data.put("memoryMiB", 128L);
    data.put("gibSeconds", Billing.gibSeconds(1_750, 128));
    data.put("requestBytes", 3L);
    data.put("responseBytes", Long.MAX_VALUE);
    data.put("traceId", inv.traceId());
    for (var m : data.entrySet()) {
      com.fasterxml.jackson.databind.JsonNode v = d.path(m.getKey());
      Object got = v.isTextual() ? v.asText() : v.isBoolean() ? (Object) v.asBoolean() : v.isIntegralNumber() ? (Object) v.asLong() : v.toString();
      assertThat(got).as(m.getKey()).isEqualTo(m.getValue());
    }
    assertThat(ce.size()).isEqualTo(want.size() + 1);
    assertThat(d.size()).isEqualTo(data.size());
  }
}
