package dev.conveyor.engine.tenancy;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.status.StatusStore;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Predicate;

/**
 * Each tenant's backlog for {@code maxQueued}: the invocations this replica accepted that have not
 * reached a terminal status yet (whichever replica ran them: terminal statuses reach every replica
 * through the status topic). It is a counter per tenant, not a set of ids: this replica's ids carry
 * its tag ({@link Placement#mine}), so a terminal status alone says whether it was one of ours.
 * Per replica, like the rate quota: with R replicas behind a load balancer a tenant can hold up to
 * R times its {@code maxQueued}, so set it to the cluster's cap / R; a restarted replica starts
 * counting from zero.
 *
 * <p>A refusal's Retry-After is honest: the seconds until the backlog is expected to be under the
 * limit again at the rate the tenant's invocations finished over the last 10 s (1 s at least, 60 s
 * at most; 60 s when none finished).
 */
public final class Backlog {
  private static final int WINDOW_S = 10;

  private static final class TenantBacklog {
    final AtomicLong queued = new AtomicLong();
    /** Terminal statuses per second, the last {@code WINDOW_S} seconds, ring-indexed by epoch second. */
    final AtomicLongArray finished = new AtomicLongArray(WINDOW_S);
    final long[] secondOf = new long[WINDOW_S];
  }

  private final Map<String, TenantBacklog> tenants = new ConcurrentHashMap<>();
  /**
   * Ids derived from an idempotency key that this replica accepted, by tenant: they carry no replica
   * tag (every replica derives the same id). Bounded; one forgotten unfinished is no longer counted.
   */
  private final com.github.benmanes.caffeine.cache.Cache<String, String> keyed = com.github.benmanes.caffeine.cache.Caffeine
      .newBuilder().executor(Runnable::run).maximumSize(100_000)
      .<String, String>removalListener((id, tenant, cause) -> {
        if (cause.wasEvicted() && tenant != null) decrement(tenant);
      }).build();
  private final Time clock;
  private final Predicate<String> mine;
  private final java.util.function.BiConsumer<String, AtomicLong> gauge;

  /**
   * @param mine whether this replica accepted an id
   * @param gauge told once per tenant of its counter (for {@code conveyor_queued{tenant}})
   */
  public Backlog(StatusStore store, Time clock, Predicate<String> mine,
      java.util.function.BiConsumer<String, AtomicLong> gauge) {
    this.clock = clock;
    this.mine = mine;
    this.gauge = gauge;
    store.onTerminal(this::ended);
  }

  private TenantBacklog of(String tenant) {
    return tenants.computeIfAbsent(tenant, t -> {
      TenantBacklog b = new TenantBacklog();
      gauge.accept(t, b.queued);
      return b;
    });
  }

  /** Empty while the tenant may queue more; else the seconds to wait (Retry-After). */
  public OptionalLong full(String tenant, long maxQueued) {
    TenantBacklog b = tenants.get(tenant);
    long queued = b == null ? 0 : b.queued.get();
    if (queued < maxQueued) return OptionalLong.empty();
    long over = queued - maxQueued + 1;
    double perSecond = rate(b);
    long wait = perSecond <= 0 ? 60 : (long) Math.ceil(over / perSecond);
    return OptionalLong.of(Math.max(1, Math.min(60, wait)));
  }

  /** {@code id} was stored and answered 202 here. */
  public void accepted(String tenant, String id) {
    of(tenant).queued.incrementAndGet();
    if (dev.conveyor.engine.api.InvocationIds.derived(id)) keyed.put(id, tenant);
  }

  private void decrement(String tenant) {
    TenantBacklog b = tenants.get(tenant);
    if (b != null) b.queued.updateAndGet(n -> Math.max(0, n - 1));
  }

  public long queued(String tenant) {
    TenantBacklog b = tenants.get(tenant);
    return b == null ? 0 : b.queued.get();
  }

  private void ended(InvocationStatus s) {
    // A sync call was never queued; a voided id was never stored (its accept answered 503).
    if ("sync".equals(s.mode()) || s.status() == dev.conveyor.engine.api.InvocationState.voided) return;
    boolean ours = dev.conveyor.engine.api.InvocationIds.derived(s.id()) ? keyed.asMap().remove(s.id()) != null : mine.test(s.id());
    if (!ours) return;
    TenantBacklog b = tenants.get(s.tenant());
    if (b == null) return;
    b.queued.updateAndGet(n -> Math.max(0, n - 1));
    long second = clock.now().getEpochSecond();
    int i = (int) (second % WINDOW_S);
    synchronized (b) {
      if (b.secondOf[i] != second) {
        b.secondOf[i] = second;
        b.finished.set(i, 0);
      }
      b.finished.incrementAndGet(i);
    }
  }

  private double rate(TenantBacklog b) {
    long now = clock.now().getEpochSecond();
    long sum = 0;
    synchronized (b) {
      for (int i = 0; i < WINDOW_S; i++) {
        if (now - b.secondOf[i] < WINDOW_S) sum += b.finished.get(i);
      }
    }
    return sum / (double) WINDOW_S;
  }
}
