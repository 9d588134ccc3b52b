package dev.conveyor.engine.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationBuilder;
import dev.conveyor.engine.config.ConveyorConfig.QueueHeaders;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class InvocationCodecTest {
  private static final QueueHeaders PACKED = QueueHeaders.packed;

  @Test
  void shouldCarryThePayloadUntouchedAndEverythingElseInHeaders() {
    byte[] payload = {0, 1, 2, (byte) 0xff};
    Invocation inv = new Invocation("id-1", "acme", "acme", "echo", "application/octet-stream", payload, "ms=5",
        Map.of("ce-type", "t", "tracestate", "x=1"), Instant.ofEpochMilli(1234), "key-1", "00-abc", "http://127.0.0.1:9/cb", "kafka");
    var out = InvocationCodec.encode("q", null, inv, PACKED);
    assertThat(out.value()).isSameAs(payload);
    assertThat(out.key()).isEqualTo("id-1");
    var in = new ConsumerRecord<>("q", 0, 0L, 0L, TimestampType.CREATE_TIME, 0, 0, out.key(), out.value(),
        new RecordHeaders(out.headers().toArray()), java.util.Optional.empty());
    Invocation back = InvocationCodec.decode(in);
    assertThat(back).usingRecursiveComparison().isEqualTo(inv);
  }

  @Test
  void queueRecordsCarryOnePackedHeaderBesideTraceparent() {
    Invocation inv = new Invocation("id-1", "acme", "acme", "echo", "application/json", new byte[] {1}, null, Map.of(),
        Instant.ofEpochMilli(1234), null, "00-abc", null, null);
    var out = InvocationCodec.encode("q", 3, inv, PACKED);
    assertThat(out.headers().toArray()).extracting(h -> h.key()).containsExactly("conveyor-invocation", "traceparent");
    assertThat(out.partition()).isEqualTo(3);
    assertThat(out.timestamp()).isEqualTo(1234L);
    assertThat(InvocationCodec.decode(out.headers(), out.value())).usingRecursiveComparison().isEqualTo(inv);
  }

  @Test
  void byDefaultTheQueueGetsAHeaderPerFieldWhichEveryVersionReads() {
    Invocation inv = new Invocation("id-1", "acme", "ns", "echo", "application/json", new byte[] {1}, null, Map.of("ce-type", "t"),
        Instant.ofEpochMilli(1234), "k", "00-abc", null, null);
    var out = InvocationCodec.encode("q", 2, inv, QueueHeaders.perField);
    assertThat(out.partition()).isEqualTo(2);
    assertThat(out.timestamp()).isEqualTo(1234L);
    assertThat(out.key()).isEqualTo("id-1");
    assertThat(out.headers().toArray()).extracting(h -> h.key())
        .contains("conveyor-id", "conveyor-tenant", "conveyor-namespace", "conveyor-function", "conveyor-accepted-at", "traceparent")
        .doesNotContain("conveyor-invocation");
    assertThat(InvocationCodec.decode(out.headers(), out.value())).usingRecursiveComparison().isEqualTo(inv);
    var retry = InvocationCodec.retry("tier", null, inv, 2, 99L, 50L, QueueHeaders.perField);
    assertThat(retry.headers().toArray()).extracting(h -> h.key()).contains("conveyor-id", "conveyor-attempt", "conveyor-due-at")
        .doesNotContain("conveyor-invocation");
  }

  @Test
  void everyFieldSurvivesThePackedHeaderNonAsciiAndLongOnesToo() {
    String longQuery = "q=" + "x".repeat(70_000);
    Invocation inv = InvocationBuilder.builder().id("id-ü").tenant("acme").namespace("ns").function("fn").contentType("text/plain; charset=utf-8")
        .payload(new byte[0]).query(longQuery).passHeaders(Map.of("ce-subject", "Grüße ✓", "tracestate", "a=1"))
        .acceptedAt(Instant.ofEpochMilli(1_700_000_000_123L)).idempotencyKey("k€y").traceparent(null)
        .callbackUrl("http://127.0.0.1:9/cb?x=ä").trigger("cron").maxAttempts(0).build();
    var out = InvocationCodec.encode("q", null, inv, PACKED);
    assertThat(InvocationCodec.decode(out.headers(), out.value())).usingRecursiveComparison().isEqualTo(inv);
    Invocation noCap = InvocationBuilder.builder(inv).maxAttempts(null).build();
    var again = InvocationCodec.encode("q", null, noCap, PACKED);
    assertThat(InvocationCodec.decode(again.headers(), again.value()).maxAttempts()).isNull();
  }

  @Test
  void deadLettersGetOneReadableHeaderPerFieldAndStillDecode() {
    Invocation inv = new Invocation("id-1", "acme", "ns", "echo", "application/json", new byte[] {7}, "a=b",
        Map.of("ce-type", "t"), Instant.ofEpochMilli(99), "key-1", "00-abc", null, "kafka");
    var out = InvocationCodec.readable("dlq", inv);
    Map<String, String> h = new java.util.HashMap<>();
    out.headers().forEach(x -> h.put(x.key(), new String(x.value(), java.nio.charset.StandardCharsets.UTF_8)));
    assertThat(h).containsEntry("conveyor-id", "id-1").containsEntry("conveyor-tenant", "acme")
        .containsEntry("conveyor-namespace", "ns").containsEntry("conveyor-function", "echo")
        .containsEntry("conveyor-accepted-at", "99").containsEntry("conveyor-idempotency-key", "key-1")
        .containsEntry("traceparent", "00-abc").containsEntry("pass-ce-type", "t").doesNotContainKey("conveyor-invocation");
    assertThat(InvocationCodec.decode(out.headers(), out.value())).usingRecursiveComparison().isEqualTo(inv);
  }

  @Test
  void aDamagedPackedHeaderIsRefusedNotMisread() {
    Invocation inv = new Invocation("id-1", "acme", "ns", "echo", "application/json", new byte[0], null, Map.of(),
        Instant.ofEpochMilli(99), null, null, null, null);
    byte[] packed = InvocationCodec.pack(inv);
    for (byte[] bad : new byte[][] {java.util.Arrays.copyOf(packed, packed.length / 2), new byte[] {9, 1, 2}, new byte[0]}) {
      RecordHeaders h = new RecordHeaders();
      h.add("conveyor-invocation", bad);
      assertThatThrownBy(() -> InvocationCodec.decode(h, null)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void shouldRefuseRecordsThatAreNotInvocations() {
    var in = new ConsumerRecord<String, byte[]>("q", 0, 0L, "k", new byte[0]);
    assertThatThrownBy(() -> InvocationCodec.decode(in)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void thePackedHeaderKeepsTheBytesEarlierBuildsWroteAndRead() {
    // Written by the build before the packed forms shared one writer; queued records outlive builds.
    Map<String, String> pass = new java.util.LinkedHashMap<>();
    pass.put("ce-subject", "Grüße ✓");
    pass.put("tracestate", "a=1");
    Invocation inv = InvocationBuilder.builder().id("0197ab2c-1111-7222-8333-444455556666").tenant("acme").namespace("ns")
        .function("fn").contentType("text/plain; charset=utf-8").payload(new byte[0]).query("q=" + "x".repeat(200)).passHeaders(pass)
        .acceptedAt(Instant.ofEpochMilli(1772359200123L)).idempotencyKey("k-ü").trigger("http").maxAttempts(3).build();
    byte[] earlier = java.util.HexFormat.of().parseHex(
        "012530313937616232632d313131312d373232322d383333332d3434343435353535363636360561636d65036e730366" +
        "6e1a746578742f706c61696e3b20636861727365743d7574662d38056b2dc3bccb01713d787878787878787878787878" +
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878" +
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878" +
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878" +
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878787800056874" +
        "7470fbdadcc6ca3304020b63652d7375626a6563740c4772c3bcc39f6520e29c930b7472616365737461746504613d31");
    assertThat(InvocationCodec.pack(inv)).isEqualTo(earlier);
    var r = InvocationCodec.encode("q", null, inv, QueueHeaders.packed);
    r.headers().remove(InvocationCodec.PACKED);
    r.headers().add(InvocationCodec.PACKED, earlier);
    assertThat(InvocationCodec.decode(r.headers(), r.value())).usingRecursiveComparison().isEqualTo(inv);
  }
}
