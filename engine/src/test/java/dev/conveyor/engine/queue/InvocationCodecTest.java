package dev.conveyor.engine.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conveyor.engine.api.Invocation;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class InvocationCodecTest {
  @Test
  void shouldCarryThePayloadUntouchedAndEverythingElseInHeaders() {
    byte[] payload = {0, 1, 2, (byte) 0xff};
    Invocation inv = new Invocation("id-1", "acme", "acme", "echo", "application/octet-stream", payload, "ms=5",
        Map.of("ce-type", "t", "tracestate", "x=1"), Instant.ofEpochMilli(1234), "key-1", "00-abc", "http://127.0.0.1:9/cb", "kafka");
    var out = InvocationCodec.encode("q", inv);
    assertThat(out.value()).isSameAs(payload);
    assertThat(out.key()).isEqualTo("id-1");
    var in = new ConsumerRecord<>("q", 0, 0L, 0L, TimestampType.CREATE_TIME, 0, 0, out.key(), out.value(),
        new RecordHeaders(out.headers().toArray()), java.util.Optional.empty());
    Invocation back = InvocationCodec.decode(in);
    assertThat(back).usingRecursiveComparison().isEqualTo(inv);
  }

  @Test
  void shouldRefuseRecordsThatAreNotInvocations() {
    var in = new ConsumerRecord<String, byte[]>("q", 0, 0L, "k", new byte[0]);
    assertThatThrownBy(() -> InvocationCodec.decode(in)).isInstanceOf(IllegalArgumentException.class);
  }
}
