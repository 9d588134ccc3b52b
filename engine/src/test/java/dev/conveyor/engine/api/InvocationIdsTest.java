package dev.conveyor.engine.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

class InvocationIdsTest {
  @Test
  void shouldCarryTheAcceptTimeInAVersion7Uuid() {
    String id = InvocationIds.next(1_764_230_400_123L);
    UUID u = UUID.fromString(id);
    assertThat(u.version()).isEqualTo(7);
    assertThat(u.variant()).isEqualTo(2);
    assertThat(InvocationIds.millis(id)).hasValue(1_764_230_400_123L);
    assertThat(InvocationIds.next(1L)).isNotEqualTo(InvocationIds.next(1L));
  }

  @Test
  void shouldRefuseIdsThatAreNotOurs() {
    assertThat(InvocationIds.millis(UUID.randomUUID().toString())).isEmpty();
    assertThat(InvocationIds.millis("garbage")).isEmpty();
  }

  @Test
  void shouldPickThePartitionKafkaWouldPickForTheKey() {
    for (int i = 0; i < 100; i++) {
      String id = InvocationIds.next(System.currentTimeMillis());
      assertThat(InvocationIds.partition(id, 6))
          .isEqualTo(BuiltInPartitioner.partitionForKey(id.getBytes(StandardCharsets.UTF_8), 6));
    }
  }

  @Test
  void idsMintedForAPartitionLandThereAndCarryTheirTag() {
    for (int i = 0; i < 200; i++) {
      String id = InvocationIds.next(1_700_000_000_000L, i % 7, 7, 0xabc);
      assertThat(InvocationIds.partition(id, 7)).isEqualTo(i % 7);
      assertThat(InvocationIds.tag(id)).isEqualTo(0xabc);
      assertThat(InvocationIds.millis(id)).hasValue(1_700_000_000_000L);
    }
    assertThat(InvocationIds.tag("not-an-id")).isEqualTo(-1);
  }
}
