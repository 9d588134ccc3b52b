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

  @Test
  void idsDerivedFromAKeyAreTheSameForEveryRetryInTheWindowAndLandInTheTenantsPartition() {
    String a = InvocationIds.derived("acme", "acme", "echo", "order-17", 20_000, 3, 7);
    assertThat(InvocationIds.derived("acme", "acme", "echo", "order-17", 20_000, 3, 7)).isEqualTo(a);
    assertThat(UUID.fromString(a).version()).isEqualTo(8);
    assertThat(UUID.fromString(a).variant()).isEqualTo(2);
    assertThat(InvocationIds.partition(a, 7)).isEqualTo(3);
    assertThat(InvocationIds.derived(a)).isTrue();
    assertThat(InvocationIds.fenceable(a)).as("a keyed id is stored again by retries: never fenced").isFalse();
    assertThat(InvocationIds.millis(a)).isEmpty();
    assertThat(InvocationIds.tag(a)).isEqualTo(-1);
    assertThat(InvocationIds.derived("acme", "acme", "echo", "order-17", 20_001, 3, 7)).as("next window").isNotEqualTo(a);
    assertThat(InvocationIds.derived("acme", "acme", "echo", "order-18", 20_000, 3, 7)).isNotEqualTo(a);
    assertThat(InvocationIds.derived("beta", "acme", "echo", "order-17", 20_000, 3, 7)).isNotEqualTo(a);
    assertThat(InvocationIds.derived("acme", "acme", "echo2", "order-17", 20_000, 3, 7)).isNotEqualTo(a);
    // the fields are separated: "ab"+"c" is not "a"+"bc"
    assertThat(InvocationIds.derived("acme", "acme", "ab", "c", 1, 0, 1)).isNotEqualTo(InvocationIds.derived("acme", "acme", "a", "bc", 1, 0, 1));
  }

  @Test
  void idsMintedForAPartitionAreCanonicalUuidsWithEveryBitWhereUuidPutsIt() {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 2_000; i++) {
      long millis = 1_700_000_000_000L + i * 7_919L;
      String id = InvocationIds.next(millis, i % 12, 12, i % 4096, i % 2 == 0);
      UUID u = UUID.fromString(id);
      assertThat(u.toString()).as("the canonical form").isEqualTo(id);
      assertThat(InvocationIds.uuid(id)).isEqualTo(u);
      assertThat(u.version()).isEqualTo(7);
      assertThat(u.variant()).isEqualTo(2);
      assertThat(u.getMostSignificantBits() >>> 16).isEqualTo(millis);
      assertThat(InvocationIds.tag(id)).isEqualTo(i % 4096);
      assertThat(InvocationIds.fenceable(id)).isEqualTo(i % 2 == 0);
      assertThat(InvocationIds.partition(id, 12)).isEqualTo(i % 12);
      assertThat(seen.add(id)).as("random bits drawn for each id").isTrue();
    }
  }

  @Test
  void onlyAcceptIdsMintedSoAreFenceable() {
    for (int i = 0; i < 200; i++) {
      String fence = InvocationIds.next(1_700_000_000_000L, i % 5, 5, 7, true);
      String plain = InvocationIds.next(1_700_000_000_000L, i % 5, 5, 7, false);
      assertThat(InvocationIds.fenceable(fence)).isTrue();
      assertThat(InvocationIds.fenceable(plain)).isFalse();
      assertThat(InvocationIds.partition(fence, 5)).isEqualTo(i % 5);
      assertThat(InvocationIds.tag(fence)).isEqualTo(7);
      assertThat(InvocationIds.millis(fence)).hasValue(1_700_000_000_000L);
    }
    assertThat(InvocationIds.fenceable("garbage")).isFalse();
  }
}
