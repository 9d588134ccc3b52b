package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.tenancy.Lanes;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The part of each tenant's {@code maxConcurrency} this replica's dispatcher may use: the shares of
 * the tenant's lanes ({@link Lanes}) whose queue partitions it owns now. The lanes' shares add up to
 * the limit, and each partition has one owner in the dispatch group, so the owners together never
 * run more than the limit, each counting only what it runs itself. {@code maxMemoryInFlightMiB} is
 * shared out the same way ({@link #tenantMemory}). A tenant with one lane keeps its
 * whole limit wherever its records are read (as before lanes existed).
 *
 * <p>Handing a lane over. A partition is revoked from one replica and assigned to another while the
 * first still runs the attempts it started. The new owner counts the attempts the status topic
 * shows running in its partitions on other processes ({@link #countsHere}); an attempt shows there
 * once it has run {@code runningStatusAfter}. So a newly gained partition is held for that long plus
 * the time a status takes to be read back ({@code hold}): by then each of the old owner's attempts
 * has either ended or is visible. A partition that comes back to the replica that had it is not
 * held: its own attempts are counted here already.
 *
 * <p>Records of a tenant found in a partition that is not one of its lanes (queued before its
 * {@code partition} or {@code lanes} changed) run with one lane's share more while any are held
 * here: bounded, for as long as the old placement drains.
 *
 * <p>Not thread-safe but for {@link #share}: used from the dispatcher's context.
 */
final class LaneShares {
  private final Function<String, Lanes> lanes;
  private final int partitions;
  private final long holdMs;
  private volatile Set<Integer> owned = Set.of();
  private final Set<Integer> revokedLately = new HashSet<>();
  private final Map<Integer, Long> heldUntil = new HashMap<>();
  private final Map<String, Integer> strays = new HashMap<>();

  /** @param lanes a tenant's lanes over the queue's {@code partitions} partitions */
  LaneShares(Function<String, Lanes> lanes, int partitions, long holdMs) {
    this.lanes = lanes;
    this.partitions = partitions;
    this.holdMs = holdMs;
  }

  Lanes lanes(String tenant) {
    return lanes.apply(tenant);
  }

  /** Partitions taken away by a rebalance: their attempts still running here keep counting here. */
  void revoked(Collection<Integer> parts) {
    Set<Integer> next = new HashSet<>(owned);
    next.removeAll(parts);
    owned = Set.copyOf(next);
    revokedLately.addAll(parts);
  }

  /** Partitions given by a rebalance; those this replica did not just have are held until {@code nowMillis + hold}. */
  void assigned(Collection<Integer> parts, long nowMillis) {
    Set<Integer> next = new HashSet<>(owned);
    for (int p : parts) {
      if (!owned.contains(p) && !revokedLately.contains(p)) heldUntil.put(p, nowMillis + holdMs);
      next.add(p);
    }
    revokedLately.clear();
    heldUntil.keySet().retainAll(next);
    owned = Set.copyOf(next);
  }

  /** Until when records of {@code partition} wait before they may start (0: they need not). */
  long heldUntil(int partition) {
    return heldUntil.getOrDefault(partition, 0L);
  }

  /** The lane of {@code tenant} on {@code partition}: its index, or -1 (a record from an old placement). */
  int laneOf(String tenant, int partition) {
    Lanes l = lanes(tenant);
    return l.size() == 1 ? 0 : l.laneOf(partition);
  }

  /** A record of the tenant from no lane of its is held here ({@code +1}) or no longer ({@code -1}). */
  void stray(String tenant, int delta) {
    strays.merge(tenant, delta, (a, b) -> a + b == 0 ? null : a + b);
  }

  /** How many of the tenant's attempts may run here at once. */
  int tenantMax(String tenant) {
    Lanes l = lanes(tenant);
    if (l.size() == 1) return l.maxConcurrency();
    return ownedShares(l) + (strays.containsKey(tenant) ? l.share(l.size() - 1) : 0);
  }

  /** How much memory (MiB) the tenant's attempts may hold here at once; 0: no memory limit. */
  long tenantMemory(String tenant) {
    Lanes l = lanes(tenant);
    if (l.maxMemoryMiB() == 0 || l.size() == 1) return l.maxMemoryMiB();
    Set<Integer> here = owned;
    long held = 0;
    for (int k = 0; k < l.size(); k++) if (here.contains(l.partition(k))) held += l.memoryShare(k);
    return held + (strays.containsKey(tenant) ? l.memoryShare(l.size() - 1) : 0);
  }

  /** The sum of the shares of the tenant's lanes this replica owns. */
  private int ownedShares(Lanes l) {
    Set<Integer> here = owned;
    int held = 0;
    for (int k = 0; k < l.size(); k++) if (here.contains(l.partition(k))) held += l.share(k);
    return held;
  }

  /**
   * Whether an attempt of the tenant that the status topic shows running on another process counts
   * against this replica's share: for a tenant with one lane, every such attempt (the limit is one
   * count); with more, those in partitions this replica owns (a previous owner's, while it hands over).
   */
  boolean countsHere(String tenant, String id) {
    return lanes(tenant).size() == 1 || owned.contains(InvocationIds.partition(id, partitions));
  }

  /** The share of the tenant's {@code maxConcurrency} this replica holds now, 0 to 1; any thread. */
  double share(String tenant) {
    Lanes l = lanes(tenant);
    return l.maxConcurrency() == 0 ? 0 : (double) ownedShares(l) / l.maxConcurrency();
  }
}
