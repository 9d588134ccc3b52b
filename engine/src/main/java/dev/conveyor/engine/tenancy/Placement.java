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

  private final long idempotencyWindowMillis;

  public Placement(Tenants tenants, int partitions) {
    this(tenants, partitions, java.time.Duration.ofHours(24));
  }

  /** @param idempotencyWindow how long an idempotency key stands for one invocation */
  public Placement(Tenants tenants, int partitions, java.time.Duration idempotencyWindow) {
    this.tenants = tenants;
    this.partitions = partitions;
    this.idempotencyWindowMillis = Math.max(1, idempotencyWindow.toMillis());
  }

  /**
   * The id an async API accept stores: derived from the idempotency key when there is one
   * ({@link #keyedId}), else random and fenceable ({@link #newAcceptId}).
   */
  public String acceptId(String tenant, String namespace, String function, String idempotencyKey, long acceptedAtMillis) {
    return idempotencyKey == null ? newAcceptId(tenant, acceptedAtMillis)
        : keyedId(tenant, namespace, function, idempotencyKey, acceptedAtMillis, idempotencyWindowMillis);
  }

  public String newId(String tenant, long acceptedAtMillis) {
    return InvocationIds.next(acceptedAtMillis, tenants.partition(tenant, partitions), partitions, tag);
  }

  /** The id of an async API accept without an idempotency key: random, and {@link InvocationIds#fenceable}. */
  public String newAcceptId(String tenant, long acceptedAtMillis) {
    return InvocationIds.next(acceptedAtMillis, tenants.partition(tenant, partitions), partitions, tag, true);
  }

  /**
   * The id of a request with an idempotency key: the same for every request with this key that falls
   * in the same idempotency window ({@code windowMillis} long, counted from the epoch), on any replica.
   */
  public String keyedId(String tenant, String namespace, String function, String key, long acceptedAtMillis, long windowMillis) {
    return InvocationIds.derived(tenant, namespace, function, key, acceptedAtMillis / windowMillis,
        tenants.partition(tenant, partitions), partitions);
  }

  /**
   * Whether this process minted {@code id} (since its start; another replica's tag matches 1 in 4,096).
   * Never true of an id derived from an idempotency key: every replica derives the same one.
   */
  public boolean mine(String id) {
    return InvocationIds.tag(id) == tag;
  }
}
