package dev.conveyor.engine.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.tenancy.Lanes;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The part of a tenant's limit a replica holds, and the hold on a lane it just gained. */
class LaneSharesTest {
  // big: 3 lanes on partitions 0, 2, 4 with shares 21, 20, 20; one: 1 lane on partition 1.
  private final Map<String, Lanes> lanes = Map.of("big", Lanes.of(0, 3, 61, 6), "one", Lanes.of(1, 1, 25, 6));
  private final LaneShares shares = new LaneShares(lanes::get, 6, 350);

  @Test
  void aReplicaMayRunTheSharesOfTheLanesItOwnsAndTheOwnersTogetherTheLimit() {
    LaneShares[] replicas = {new LaneShares(lanes::get, 6, 350), new LaneShares(lanes::get, 6, 350), new LaneShares(lanes::get, 6, 350)};
    for (int r = 0; r < 3; r++) replicas[r].assigned(List.of(2 * r, 2 * r + 1), 0);
    assertThat(replicas[0].tenantMax("big")).isEqualTo(21);
    assertThat(replicas[1].tenantMax("big")).isEqualTo(20);
    assertThat(replicas[0].tenantMax("big") + replicas[1].tenantMax("big") + replicas[2].tenantMax("big")).isEqualTo(61);
    assertThat(replicas[2].share("big")).isEqualTo(20 / 61.0);
    // Replica 2 dies: its partitions go to the others, whose shares add up to the limit again.
    replicas[0].assigned(List.of(4), 1000);
    replicas[1].assigned(List.of(5), 1000);
    assertThat(replicas[0].tenantMax("big") + replicas[1].tenantMax("big")).isEqualTo(61);
    assertThat(replicas[0].share("big")).isEqualTo(41 / 61.0);
    // A one-lane tenant has its whole limit wherever its records are read.
    assertThat(replicas[2].tenantMax("one")).isEqualTo(25);
    assertThat(replicas[0].share("one")).isEqualTo(1.0);
    assertThat(replicas[1].share("one")).isZero();
  }

  @Test
  void aGainedPartitionIsHeldUntilThePreviousOwnersAttemptsShowAndAKeptOneIsNot() {
    shares.assigned(List.of(0, 1), 1000);
    assertThat(shares.heldUntil(0)).as("first assignment: someone may have had it").isEqualTo(1350);
    // An eager rebalance: everything revoked, then 0 comes back and 2 is new.
    shares.revoked(List.of(0, 1));
    assertThat(shares.tenantMax("big")).as("nothing owned between revoke and assign").isZero();
    shares.assigned(List.of(0, 2), 5000);
    assertThat(shares.heldUntil(0)).as("kept: its attempts are counted here").isEqualTo(1350);
    assertThat(shares.heldUntil(2)).isEqualTo(5350);
    assertThat(shares.heldUntil(1)).isZero();
    assertThat(shares.tenantMax("big")).isEqualTo(41);
  }

  @Test
  void attemptsElsewhereCountHereOnlyInPartitionsOwnedHereForATenantWithLanes() {
    shares.assigned(List.of(0, 1), 0);
    String inLane0 = InvocationIds.next(0, 0, 6, 1);
    String inLane1 = InvocationIds.next(0, 2, 6, 1);
    assertThat(shares.countsHere("big", inLane0)).isTrue();
    assertThat(shares.countsHere("big", inLane1)).as("another owner's lane: its owner counts it").isFalse();
    assertThat(shares.countsHere("one", InvocationIds.next(0, 3, 6, 1))).as("one lane: one count").isTrue();
  }

  @Test
  void recordsFromAnEarlierPlacementRunWithOneLanesShareMoreWhileHeld() {
    shares.assigned(List.of(0, 1), 0);
    assertThat(shares.laneOf("big", 1)).isEqualTo(-1);
    assertThat(shares.laneOf("big", 0)).isZero();
    assertThat(shares.laneOf("one", 5)).as("a one-lane tenant's records are its lane wherever they are").isZero();
    shares.stray("big", 1);
    shares.stray("big", 1);
    assertThat(shares.tenantMax("big")).isEqualTo(21 + 20);
    shares.stray("big", -1);
    shares.stray("big", -1);
    assertThat(shares.tenantMax("big")).isEqualTo(21);
  }
}
