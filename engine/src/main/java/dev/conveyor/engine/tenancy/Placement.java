package dev.conveyor.engine.tenancy;

import dev.conveyor.engine.api.InvocationIds;

/**
 * Mints invocation ids that land in their tenant's queue partition ({@link Tenants#partition}), so
 * all of a tenant's invocations are dispatched by one replica, the partition's owner, which then
 * enforces {@code maxConcurrency}, function {@code concurrency} and fairness on its own.
 */
public final class Placement {
  private final Tenants tenants;
  private final int partitions;
  /** This process's mark on the ids it mints, random per start. */
  private final int tag = java.util.concurrent.ThreadLocalRandom.current().nextInt(4096);

  public Placement(Tenants tenants, int partitions) {
    this.tenants = tenants;
    this.partitions = partitions;
  }

  public String newId(String tenant, long acceptedAtMillis) {
    return InvocationIds.next(acceptedAtMillis, tenants.partition(tenant, partitions), partitions, tag);
  }

  /** Whether this process minted {@code id} (since its start; another replica's tag matches 1 in 4,096). */
  public boolean mine(String id) {
    return InvocationIds.tag(id) == tag;
  }
}
