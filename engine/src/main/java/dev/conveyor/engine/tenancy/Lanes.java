package dev.conveyor.engine.tenancy;

import dev.conveyor.engine.api.InvocationIds;
import java.util.Arrays;

/**
 * A tenant's lanes: the queue partitions its invocations spread over, and the fixed share of its
 * {@code maxConcurrency} each lane's dispatcher may run. Any replica computes the same lanes from
 * the tenant's name and config alone (never from the order of the tenants list):
 *
 * <ul>
 *   <li>the first lane is the tenant's {@code partition} if set, else Kafka's key hash (murmur2) of
 *       its name, modulo the queue's partition count;
 *   <li>lane {@code k} is {@code first + k × stride} (mod partitions), the stride being
 *       {@code partitions / lanes}: lanes are spread over the partition range, so Kafka's range
 *       assignor (which gives each consumer a block of consecutive partitions) hands them to
 *       different replicas;
 *   <li>lane {@code k}'s share is {@code maxConcurrency / lanes}, the first {@code maxConcurrency mod
 *       lanes} lanes one more: the shares add up to {@code maxConcurrency} exactly, so the owners of
 *       the lanes, each keeping to its lanes' shares with local counts, never run more together;
 *   <li>{@code maxMemoryInFlightMiB} is split the same way ({@link #memoryShare}).
 * </ul>
 *
 * A function that must keep an exact limit of its own ({@code concurrency}) is pinned to one lane
 * ({@link #pinned}), whose owner enforces it alone.
 */
public record Lanes(int[] partitions, int maxConcurrency, long maxMemoryMiB) {
  public Lanes {
    partitions = partitions.clone();
  }

  /** The lanes' partitions, lane 0 first (a copy). */
  @Override
  public int[] partitions() {
    return partitions.clone();
  }

  /** Lanes without a memory limit. */
  public Lanes(int[] partitions, int maxConcurrency) {
    this(partitions, maxConcurrency, 0);
  }

  /** The lanes of a tenant whose first lane is {@code first}, without a memory limit. */
  public static Lanes of(int first, int lanes, int maxConcurrency, int partitionCount) {
    return of(first, lanes, maxConcurrency, 0, partitionCount);
  }

  /** The lanes of a tenant whose first lane is {@code first}; {@code maxMemoryMiB} 0: no memory limit. */
  public static Lanes of(int first, int lanes, int maxConcurrency, long maxMemoryMiB, int partitionCount) {
    int n = Math.max(1, Math.min(lanes, partitionCount));
    int stride = Math.max(1, partitionCount / n);
    int[] p = new int[n];
    for (int k = 0; k < n; k++) p[k] = Math.floorMod(first + k * stride, partitionCount);
    return new Lanes(p, maxConcurrency, maxMemoryMiB);
  }

  /** The first lane of a tenant without a {@code partition}: its name's hash, as Kafka hashes keys (and ids). */
  public static int hashed(String tenant, int partitionCount) {
    return InvocationIds.partition(tenant, partitionCount);
  }

  public int size() {
    return partitions.length;
  }

  public int partition(int lane) {
    return partitions[lane];
  }

  /** Lane {@code lane}'s share of {@code maxConcurrency}. */
  public int share(int lane) {
    int n = partitions.length;
    return maxConcurrency / n + (lane < maxConcurrency % n ? 1 : 0);
  }

  /** Lane {@code lane}'s share of {@code maxMemoryMiB}, split as the slots are (0: no memory limit). */
  public long memoryShare(int lane) {
    int n = partitions.length;
    return maxMemoryMiB / n + (lane < maxMemoryMiB % n ? 1 : 0);
  }

  /** The lane on {@code partition}, or -1 if it is none of this tenant's. */
  public int laneOf(int partition) {
    for (int k = 0; k < partitions.length; k++) if (partitions[k] == partition) return k;
    return -1;
  }

  /** The one lane of a pinned function ("namespace/name"): fixed by its name's hash. */
  public int pinned(String function) {
    return InvocationIds.partition(function, partitions.length);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Lanes l && l.maxConcurrency == maxConcurrency && l.maxMemoryMiB == maxMemoryMiB
        && Arrays.equals(l.partitions, partitions);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Arrays.hashCode(partitions) + maxConcurrency) + Long.hashCode(maxMemoryMiB);
  }

  @Override
  public String toString() {
    return "Lanes" + Arrays.toString(partitions) + " of " + maxConcurrency + (maxMemoryMiB == 0 ? "" : ", " + maxMemoryMiB + " MiB");
  }
}
