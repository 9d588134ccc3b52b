package dev.conveyor.engine.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.kafka.KafkaSender;
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
}
