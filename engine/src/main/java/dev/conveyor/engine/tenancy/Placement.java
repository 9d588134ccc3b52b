package dev.conveyor.engine.tenancy;

import dev.conveyor.engine.api.InvocationIds;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.ToIntFunction;

/**
 * Mints invocation ids that land in one of their tenant's lanes ({@link Lanes}), so any replica finds
 * an invocation's queue partition from its id, and each lane's owner in the dispatch group enforces
 * the lane's share of {@code maxConcurrency} with local counts. A tenant with one lane has all its
 * invocations in one partition, and its owner enforces function {@code concurrency} and fairness on
 * its own. With more lanes, an invocation goes to a lane drawn at random, but a function whose own
 * {@code concurrency} is below its tenant's {@code maxConcurrency} (a limit that binds first, and
 * must be exact) always goes to one lane, the same for each of its invocations ({@link Lanes#pinned}).
 */
public final class Placement {
  private final Tenants tenants;
  private final int partitions;
  private final ToIntFunction<String> functionConcurrency;
  /** This process's mark on the ids it mints, random per start. */
  private final int tag = ThreadLocalRandom.current().nextInt(4096);

  private final long idempotencyWindowMillis;

  public Placement(Tenants tenants, int partitions) {
    this(tenants, partitions, java.time.Duration.ofHours(24), f -> Integer.MAX_VALUE);
  }

  /**
   * @param idempotencyWindow how long an idempotency key stands for one invocation
   * @param functionConcurrency a function's own {@code concurrency} by "namespace/name" (unknown: {@code Integer.MAX_VALUE})
   */
  public Placement(Tenants tenants, int partitions, java.time.Duration idempotencyWindow, ToIntFunction<String> functionConcurrency) {
    this.tenants = tenants;
    this.partitions = partitions;
    this.functionConcurrency = functionConcurrency;
    this.idempotencyWindowMillis = Math.max(1, idempotencyWindow.toMillis());
  }

  /**
   * The id an async API accept stores: derived from the idempotency key when there is one
   * ({@link #keyedId}), else random and fenceable ({@link #newAcceptId}).
   */
  public String acceptId(String tenant, String namespace, String function, String idempotencyKey, long acceptedAtMillis) {
    return idempotencyKey == null ? newAcceptId(tenant, namespace, function, acceptedAtMillis)
        : keyedId(tenant, namespace, function, idempotencyKey, acceptedAtMillis, idempotencyWindowMillis);
  }

  /** A random id in one of the tenant's lanes (the function's own, if it is pinned). */
  public String newId(String tenant, String namespace, String function, long acceptedAtMillis) {
    return InvocationIds.next(acceptedAtMillis, partition(tenant, namespace + "/" + function), partitions, tag);
  }

  /** The id of an async API accept without an idempotency key: random, and {@link InvocationIds#fenceable}. */
  public String newAcceptId(String tenant, String namespace, String function, long acceptedAtMillis) {
    return InvocationIds.next(acceptedAtMillis, partition(tenant, namespace + "/" + function), partitions, tag, true);
  }

  /**
   * The id of a request with an idempotency key: the same for every request with this key that falls
   * in the same idempotency window ({@code windowMillis} long, counted from the epoch), on any replica,
   * as long as the tenant's lanes stay as they are. It lands in whichever of the tenant's lanes its
   * hash falls in (the function's own lane, if it is pinned).
   */
  public String keyedId(String tenant, String namespace, String function, String key, long acceptedAtMillis, long windowMillis) {
    Lanes lanes = tenants.lanes(tenant, partitions);
    int pinned = pinnedLane(lanes, namespace + "/" + function);
    java.util.function.IntPredicate accept = pinned >= 0 ? p -> p == lanes.partition(pinned) : p -> lanes.laneOf(p) >= 0;
    return InvocationIds.derived(tenant, namespace, function, key, acceptedAtMillis / windowMillis, accept, partitions);
  }

  /** The queue partition of a new invocation of {@code function} ("namespace/name"). */
  int partition(String tenant, String function) {
    Lanes lanes = tenants.lanes(tenant, partitions);
    if (lanes.size() == 1) return lanes.partition(0);
    int pinned = pinnedLane(lanes, function);
    return lanes.partition(pinned >= 0 ? pinned : ThreadLocalRandom.current().nextInt(lanes.size()));
  }

  /** The lane a function keeps to, or -1 when its invocations may go to any lane. */
  private int pinnedLane(Lanes lanes, String function) {
    return lanes.size() > 1 && functionConcurrency.applyAsInt(function) < lanes.maxConcurrency() ? lanes.pinned(function) : -1;
  }

  /**
   * Whether this process minted {@code id} (since its start; another replica's tag matches 1 in 4,096).
   * Never true of an id derived from an idempotency key: every replica derives the same one.
   */
  public boolean mine(String id) {
    return InvocationIds.tag(id) == tag;
  }
}
