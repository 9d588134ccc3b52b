package dev.conveyor.engine.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.kafka.Packed;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class StatusCodecTest {
  private static final Instant T = Instant.parse("2026-03-01T10:00:00.123Z");

  private static InvocationStatus succeeded() {
    Invocation inv = new Invocation("0197ab2c-1111-7222-8333-444455556666", "acme", "acme", "echo", null, new byte[0], null,
        Map.of(), T, null, null, "4bf92f3577b34da6a3ce929d0e0e4736", "http");
    return InvocationStatus.queued(inv).running(1, T.plusMillis(4))
        .attemptEnded(InvocationState.succeeded, T.plusMillis(41), 37, 200, null);
  }

  @Test
  void shouldStoreInstantsAsEpochMillisAndReadThemBackExactly() throws Exception {
    InvocationStatus s = succeeded();
    StoredResult r = new StoredResult(200, "application/json", "{\"ok\":true}".getBytes(StandardCharsets.UTF_8));
    byte[] bytes = StatusCodec.encode(s, r);
    assertThat(new String(bytes, StandardCharsets.UTF_8)).contains("\"acceptedAt\":" + T.toEpochMilli()).doesNotContain("2026-03-01");
    StatusCodec.Envelope e = StatusCodec.decode(bytes);
    assertThat(e.status()).isEqualTo(s);
    assertThat(e.result().body()).isEqualTo(r.body());
  }

  @Test
  void shouldStillReadRecordsWrittenWithTextInstants() throws Exception {
    String legacy = """
        {"status":{"id":"x","tenant":"acme","namespace":"acme","function":"echo","status":"succeeded","version":3,"attempts":1,
        "acceptedAt":"2026-03-01T10:00:00.123Z","startedAt":"2026-03-01T10:00:00.127Z","finishedAt":"2026-03-01T10:00:00.164Z",
        "durationMs":37,"coldStart":false,"history":[{"attempt":1,"startedAt":"2026-03-01T10:00:00.127Z","durationMs":37,
        "coldStart":false}],"platformDelays":0}}""";
    InvocationStatus s = StatusCodec.decode(legacy.getBytes(StandardCharsets.UTF_8)).status();
    assertThat(s.acceptedAt()).isEqualTo(T);
    assertThat(s.finishedAt()).isEqualTo(T.plusMillis(41));
    assertThat(s.history().get(0).startedAt()).isEqualTo(T.plusMillis(4));
  }

  @Test
  void shouldReadItsOwnWritesBackWithoutDecodingAndKeepThemOutOfRunningElsewhere() throws Exception {
    MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    try (KafkaSender sender = new KafkaSender(producer)) {
      StatusStore store = new StatusStore(16 * 1024 * 1024, Duration.ofHours(24), new dev.conveyor.engine.testing.ManualTime(T), sender, "status");
      InvocationStatus running = succeeded().running(2, T.plusSeconds(1));
      store.write(running, null).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      ProducerRecord<String, byte[]> sent = producer.history().get(0);
      String writer = new String(sent.headers().lastHeader(StatusStore.WRITER).value(), StandardCharsets.US_ASCII);
      assertThat(store.own(writer)).isTrue();
      assertThat(store.own("another-process/1")).isFalse();
      assertThat(store.read(sent.value(), writer).status()).as("the object sent, not a decoded copy").isSameAs(running);
      assertThat(store.read(sent.value(), writer).status()).as("read again: decoded").isEqualTo(running).isNotSameAs(running);
      store.apply(running, null, true, sent.value());
      assertThat(store.running("acme")).as("this process's own attempts are the dispatcher's to count").isEmpty();
      assertThat(store.runningElsewhere("acme", running.id())).isFalse();
      InvocationStatus other = running.attemptEnded(InvocationState.retrying, T.plusSeconds(2), 5, 503, "x").running(3, T.plusSeconds(3));
      store.apply(other, null, false, null);
      assertThat(store.running("acme")).hasSize(1);
      assertThat(store.runningElsewhere("acme", other.id())).isTrue();
      assertThat(store.runningElsewhere("globex", other.id())).isFalse();
    }
  }

  /** Statuses with every field set or null, odd and long strings, several attempts, and instants far from now. */
  private static InvocationStatus random(java.util.Random rnd) {
    String[] texts = {null, "", "acme", "ü€𝄞\u0000\"\\", "x".repeat(126), "y".repeat(127), "z".repeat(20_000), "é".repeat(70)};
    java.util.function.Supplier<String> text = () -> texts[rnd.nextInt(texts.length)];
    java.util.function.Supplier<Instant> at = () -> rnd.nextInt(5) == 0 ? null
        : Instant.ofEpochMilli(rnd.nextBoolean() ? T.toEpochMilli() + rnd.nextInt(1_000_000) : rnd.nextLong() >> 20);
    java.util.function.Supplier<Long> number = () -> switch (rnd.nextInt(5)) {
      case 0 -> null;
      case 1 -> Long.MAX_VALUE;
      case 2 -> Long.MIN_VALUE;
      case 3 -> -rnd.nextLong(1000);
      default -> rnd.nextLong(100_000);
    };
    java.util.List<dev.conveyor.engine.api.AttemptRecord> history = new java.util.ArrayList<>();
    for (int i = rnd.nextInt(4); i > 0; i--) {
      Long http = number.get();
      history.add(new dev.conveyor.engine.api.AttemptRecord(rnd.nextInt(1, 10), at.get(), number.get(),
          http == null ? null : (int) (long) http, text.get(), rnd.nextBoolean(), number.get()));
    }
    Long http = number.get();
    return dev.conveyor.engine.api.InvocationStatusBuilder.builder().id(text.get()).tenant(text.get()).namespace(text.get())
        .function(text.get()).status(InvocationState.values()[rnd.nextInt(InvocationState.values().length)])
        .version(rnd.nextLong(1, Long.MAX_VALUE)).attempts(rnd.nextInt(100)).acceptedAt(at.get()).startedAt(at.get())
        .finishedAt(at.get()).durationMs(number.get()).queueWaitMs(number.get()).coldStart(rnd.nextBoolean())
        .httpStatus(http == null ? null : (int) (long) http).lastError(text.get()).traceId(text.get()).idempotencyKey(text.get())
        .history(java.util.List.copyOf(history)).parkedUntil(at.get()).platformDelays(rnd.nextInt(50)).coldSince(at.get())
        .trigger(text.get()).mode(text.get()).build();
  }

  @Test
  void aPackedRecordReadsBackAsTheStatusAndResultItWasMadeOf() throws Exception {
    java.util.Random rnd = new java.util.Random(7);
    for (int i = 0; i < 2_000; i++) {
      InvocationStatus s = random(rnd);
      StoredResult r = rnd.nextBoolean() ? null
          : new StoredResult(rnd.nextInt(100, 600), rnd.nextBoolean() ? null : "text/plain; charset=ü", new byte[rnd.nextInt(3) * 300]);
      byte[] packed = StatusCodec.encode(dev.conveyor.engine.config.ConveyorConfig.StatusRecords.packed, s, r);
      assertThat(packed[0]).isEqualTo(StatusCodec.PACKED_VERSION);
      StatusCodec.Envelope e = StatusCodec.decode(packed);
      assertThat(e.status()).as("status %d", i).isEqualTo(s);
      if (r == null) {
        assertThat(e.result()).isNull();
      } else {
        assertThat(e.result().httpStatus()).isEqualTo(r.httpStatus());
        assertThat(e.result().contentType()).isEqualTo(r.contentType());
        assertThat(e.result().body()).isEqualTo(r.body());
      }
      // The same as the JSON form reads back, from within a larger array as the status cache holds it.
      byte[] json = StatusCodec.encode(s, r);
      assertThat(json[0]).isEqualTo((byte) '{');
      byte[] held = new byte[packed.length + 9];
      System.arraycopy(packed, 0, held, 9, packed.length);
      assertThat(StatusCodec.decode(held, 9, packed.length).status()).isEqualTo(StatusCodec.decode(json).status());
    }
    InvocationStatus typical = succeeded();
    assertThat(StatusCodec.encode(dev.conveyor.engine.config.ConveyorConfig.StatusRecords.packed, typical, null).length)
        .as("a fraction of the JSON").isLessThan(StatusCodec.encode(typical, null).length / 2);
  }

  @Test
  void aPackedRecordCutShortOrOfALaterVersionIsRefusedAndWhatALaterVersionAppendsIsSkipped() throws Exception {
    StoredResult r = new StoredResult(200, "application/json", "{\"ok\":true}".getBytes(StandardCharsets.UTF_8));
    byte[] packed = StatusCodec.encode(dev.conveyor.engine.config.ConveyorConfig.StatusRecords.packed, succeeded(), r);
    for (int n = 1; n < packed.length; n++) {
      int cut = n;
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> StatusCodec.decode(java.util.Arrays.copyOf(packed, cut)))
          .as("cut at %d", cut).isInstanceOf(java.io.IOException.class);
    }
    byte[] longer = java.util.Arrays.copyOf(packed, packed.length + 5);
    longer[packed.length] = 42;
    assertThat(StatusCodec.decode(longer).status()).isEqualTo(succeeded());
    // the state's position: a state this version does not know
    byte[] later = packed.clone();
    int stateAt = 1;
    for (int i = 0; i < 4; i++) stateAt += later[stateAt] == 0 ? 1 : later[stateAt]; // past id, tenant, namespace, function
    assertThat(later[stateAt]).isEqualTo((byte) InvocationState.succeeded.ordinal());
    later[stateAt] = (byte) InvocationState.values().length;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> StatusCodec.decode(later)).isInstanceOf(java.io.IOException.class)
        .hasMessageContaining("later version");
    // a packed form of a later version
    byte[] next = packed.clone();
    next[0] = StatusCodec.PACKED_VERSION + 1;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> StatusCodec.decode(next)).isInstanceOf(java.io.IOException.class)
        .hasMessageContaining("later version");
    // a state far beyond the enum's: refused, not read modulo 2^32
    byte[] far = java.util.Arrays.copyOf(packed, stateAt);
    Packed.Writer w = new Packed.Writer(8).varint((1L << 32) + InvocationState.running.ordinal());
    byte[] tail = w.toByteArray();
    far = java.util.Arrays.copyOf(far, stateAt + tail.length + packed.length - stateAt - 1);
    System.arraycopy(tail, 0, far, stateAt, tail.length);
    System.arraycopy(packed, stateAt + 1, far, stateAt + tail.length, packed.length - stateAt - 1);
    byte[] farOff = far;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> StatusCodec.decode(farOff)).isInstanceOf(java.io.IOException.class);
  }

  @Test
  void aStoreThatWritesPackedRecordsKeepsAndServesThemAndReadsJsonOnesAlike() throws Exception {
    MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    try (KafkaSender sender = new KafkaSender(producer)) {
      StatusStore store = new StatusStore(16 * 1024 * 1024, Duration.ofHours(24), new dev.conveyor.engine.testing.ManualTime(T), sender,
          "status", dev.conveyor.engine.config.ConveyorConfig.StatusRecords.packed);
      InvocationStatus done = succeeded();
      StoredResult r = new StoredResult(200, "text/plain", "hi".getBytes(StandardCharsets.UTF_8));
      store.write(done, r).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      byte[] value = producer.history().get(0).value();
      assertThat(value[0]).isEqualTo(StatusCodec.PACKED_VERSION);
      store.apply(done, r, false, value);
      assertThat(store.get(done.id()).orElseThrow().status()).isEqualTo(done);
      assertThat(store.get(done.id()).orElseThrow().result().body()).isEqualTo(r.body());
      // a replica writing JSON: its records are read all the same
      InvocationStatus other = InvocationStatus.queued(new Invocation("0197ab2c-1111-7222-8333-777755556666", "acme", "acme", "echo",
          null, new byte[0], null, Map.of(), T, null, null, null, "http")).running(1, T.plusMillis(1));
      byte[] json = StatusCodec.encode(other, null);
      store.apply(StatusCodec.decode(json).status(), null, false, json);
      assertThat(store.get(other.id()).orElseThrow().status()).isEqualTo(other);
      // a change without a result keeps the last result, stored again in this store's form
      InvocationStatus progress = other.attemptEnded(InvocationState.retrying, T.plusMillis(5), 4, 503, "busy");
      store.apply(other.attemptEnded(InvocationState.retrying, T.plusMillis(5), 4, 503, "busy"), r, false, null);
      store.apply(progress.running(2, T.plusMillis(9)), null, false, null);
      assertThat(store.get(other.id()).orElseThrow().result().body()).isEqualTo(r.body());
    }
  }
}
