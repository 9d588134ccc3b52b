package dev.conveyor.engine.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.config.ConveyorConfig.Callbacks;
import dev.conveyor.engine.config.ConveyorConfig.Limits;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Where a tenant's invocations go: its lanes, their shares, and ids that land in them. */
class LanesTest {
  private static Tenant tenant(String name, int maxConcurrency, int lanes, Integer partition) {
    return new Tenant(name, List.of(name), List.of(), new Limits(maxConcurrency, 500, 1000, 100_000, 1 << 20, 1, lanes),
        new Callbacks(List.of(), null), partition);
  }

  @Test
  void aTenantsLanesDependOnItsNameAndConfigNeverOnTheOrderOfTheList() {
    List<Tenant> list = new ArrayList<>();
    for (int i = 0; i < 20; i++) list.add(tenant("t" + i, 60, 1 + i % 4, i % 5 == 0 ? i : null));
    Tenants before = new Tenants(list);
    List<Tenant> reordered = new ArrayList<>(list);
    Collections.reverse(reordered);
    reordered.remove(7); // and one tenant gone
    Tenants after = new Tenants(reordered);
    for (Tenant t : reordered) {
      assertThat(after.lanes(t.name(), 12)).as(t.name()).isEqualTo(before.lanes(t.name(), 12));
    }
    assertThat(before.lanes("t3", 12).partition(0)).isEqualTo(Lanes.hashed("t3", 12));
    assertThat(before.lanes("t5", 12).partition(0)).as("an explicit partition is the first lane").isEqualTo(5);
  }

  @Test
  void lanesAreDistinctPartitionsSpreadOverTheRangeWithSharesAddingUpToTheLimit() {
    Lanes l = Lanes.of(5, 3, 60, 6);
    assertThat(l.partitions()).containsExactly(5, 1, 3);
    // Kafka's range assignor gives 3 consumers the blocks {0,1}, {2,3}, {4,5}: one lane each.
    assertThat(IntStream.of(l.partitions()).map(p -> p / 2).distinct().count()).isEqualTo(3);
    for (int partitions = 1; partitions <= 16; partitions++) {
      for (int lanes = 1; lanes <= 20; lanes++) {
        for (int max : new int[] {lanes, lanes + 1, 50, 61}) {
          Lanes x = Lanes.of(partitions - 1, lanes, max, partitions);
          assertThat(IntStream.of(x.partitions()).distinct().count()).isEqualTo(Math.min(lanes, partitions));
          assertThat(IntStream.range(0, x.size()).map(x::share).sum()).isEqualTo(max);
          assertThat(IntStream.range(0, x.size()).map(x::share).min().getAsInt()).isGreaterThanOrEqualTo(1);
          assertThat(IntStream.range(0, x.size()).map(x::share).max().getAsInt() - IntStream.range(0, x.size()).map(x::share).min()
              .getAsInt()).isLessThanOrEqualTo(1);
          for (int k = 0; k < x.size(); k++) assertThat(x.laneOf(x.partition(k))).isEqualTo(k);
        }
      }
    }
  }

  @Test
  void idsLandInTheTenantsLanesEvenlyAndAPinnedFunctionInOneLane() {
    Tenants tenants = new Tenants(List.of(tenant("big", 60, 3, 0), tenant("small", 50, 1, null)));
    // fn "big/one" has concurrency 1 (below the tenant's 60): it must stay on one lane.
    Map<String, Integer> concurrency = Map.of("big/one", 1, "big/many", 60);
    Placement placement = new Placement(tenants, 6, java.time.Duration.ofHours(1), f -> concurrency.getOrDefault(f, 100));
    Map<Integer, Integer> spread = new HashMap<>();
    Set<Integer> pinned = new HashSet<>();
    for (int i = 0; i < 3000; i++) {
      spread.merge(InvocationIds.partition(placement.newAcceptId("big", "big", "many", i), 6), 1, Integer::sum);
      pinned.add(InvocationIds.partition(placement.newId("big", "big", "one", i), 6));
    }
    assertThat(spread.keySet()).containsExactlyInAnyOrder(0, 2, 4);
    assertThat(spread.values()).allSatisfy(n -> assertThat(n).isBetween(850, 1150));
    assertThat(pinned).hasSize(1);
    assertThat(tenants.lanes("big", 6).laneOf(pinned.iterator().next())).isGreaterThanOrEqualTo(0);
    Set<Integer> small = new HashSet<>();
    for (int i = 0; i < 200; i++) small.add(InvocationIds.partition(placement.newId("small", "small", "f", i), 6));
    assertThat(small).containsExactly(Lanes.hashed("small", 6));
  }

  @Test
  void tenantsWhoseLanesShareAPartitionAreNamed() {
    Tenants apart = new Tenants(List.of(tenant("big", 60, 3, 0), tenant("one", 10, 1, 1), tenant("two", 10, 1, 3)));
    assertThat(apart.sharedPartitions(6)).isEmpty();
    Tenants clash = new Tenants(List.of(tenant("big", 60, 3, 0), tenant("one", 10, 1, 2), tenant("two", 10, 1, 2)));
    assertThat(clash.sharedPartitions(6)).containsExactly(Map.entry(2, List.of("big", "one", "two")));
  }

  @Test
  void aKeyedIdIsTheSameOnEveryReplicaAndAfterTheListIsReordered() {
    Tenant big = tenant("big", 60, 3, null);
    Tenant other = tenant("other", 10, 1, null);
    Placement a = new Placement(new Tenants(List.of(big, other)), 12, java.time.Duration.ofHours(1), f -> 100);
    Placement b = new Placement(new Tenants(List.of(other, big)), 12, java.time.Duration.ofHours(1), f -> 100);
    Set<Integer> lanesUsed = new HashSet<>();
    for (int i = 0; i < 100; i++) {
      String id = a.acceptId("big", "big", "f", "key-" + i, 1_000);
      assertThat(b.acceptId("big", "big", "f", "key-" + i, 2_000)).isEqualTo(id);
      lanesUsed.add(InvocationIds.partition(id, 12));
    }
    assertThat(lanesUsed).containsExactlyInAnyOrder(IntStream.of(new Tenants(List.of(big)).lanes("big", 12).partitions()).boxed()
        .toArray(Integer[]::new));
  }
}
