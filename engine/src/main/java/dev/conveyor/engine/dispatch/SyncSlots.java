package dev.conveyor.engine.dispatch;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Sync calls in the same ledger as the dispatcher's async attempts: a sync call starts only while its
 * tenant's {@code maxConcurrency} and its function's limit have room, counting the async attempts
 * running on this replica, the sync calls here, and both kinds running on other replicas as the
 * status topic tells (a sync call shows itself there once it has run {@code runningStatusAfter}, as an
 * async attempt does). The dispatcher counts these sync calls against the same limits in turn.
 *
 * <p>Every decision is taken on one context, the dispatcher's when it runs on this replica, so no
 * sync call and no async start can overtake each other past a limit. A call that finds no room
 * waits, first come first served within its tenant (a call to a function with room passes one whose
 * function is full), until its deadline; then it is refused. Waiting sync callers go before queued
 * async work when a slot frees: a caller is holding a connection open.
 */
public final class SyncSlots {
  /** What the dispatcher knows: the limits, and the async attempts running here and elsewhere. */
  public interface Ledger {
    int tenantMax(String tenant);

    int functionMax(String function);

    int asyncRunning(String tenant);

    int asyncRunningFunction(String function);

    /** Attempts and sync calls of the tenant running on other replicas now. */
    int elsewhere(String tenant);

    /** The tenant's {@code maxMemoryInFlightMiB}; 0: no memory limit. */
    default long tenantMemory(String tenant) {
      return 0;
    }

    /** MiB of the tenant's async attempts running here. */
    default long asyncMemory(String tenant) {
      return 0;
    }

    /** MiB of the tenant's attempts and sync calls running on other replicas now. */
    default long memoryElsewhere(String tenant) {
      return 0;
    }
  }

  /** Held while a sync call runs; given back with {@link #release}. */
  public record Permit(String tenant, String function, int memoryMiB) {
    public Permit(String tenant, String function) {
      this(tenant, function, 0);
    }
  }

  /** The call waited {@code waitedMs} and found no room: the tenant or the function is at its limit. */
  public static final class NoRoom extends RuntimeException {
    public final boolean tenantFull;

    NoRoom(boolean tenantFull) {
      super(tenantFull ? "tenant at maxConcurrency" : "function at its concurrency", null, false, false);
      this.tenantFull = tenantFull;
    }
  }

  private record Waiter(String function, int memoryMiB, Promise<Permit> promise, long timer) {}

  /** How often waiting calls look again for room that came free elsewhere (the dispatcher's repump is 500 ms). */
  static final long RECHECK_MS = 250;

  private final dev.conveyor.engine.time.Time time;
  private java.util.concurrent.Executor context;

  /** Its waits are timed on {@code time}, whose timers run on the context that sets them (here: the bound one). */
  public SyncSlots(dev.conveyor.engine.time.Time time) {
    this.time = time;
  }
  private Ledger ledger;
  private Runnable onFreed = () -> {};
  private final Map<String, Integer> byTenant = new HashMap<>();
  private final Map<String, Integer> byFunction = new HashMap<>();
  private final Map<String, Long> memoryByTenant = new HashMap<>();
  private final Map<String, ArrayDeque<Waiter>> waiting = new HashMap<>();
  /** While calls wait: room can also come from other replicas' calls ending or pods added, with no event here. */
  private long recheck = -1;

  /** Decisions run on {@code context}; {@code onFreed}: a slot came free (the dispatcher looks again). */
  public void bind(Context context, Ledger ledger, Runnable onFreed) {
    bind(task -> context.runOnContext(v -> task.run()), ledger, onFreed);
  }

  /** The same on an executor that runs one task at a time, in order (a test's: each at once, on its own thread). */
  public void bind(java.util.concurrent.Executor onContext, Ledger ledger, Runnable onFreed) {
    this.context = onContext;
    this.ledger = ledger;
    this.onFreed = onFreed;
  }

  /** A slot for a sync call of {@code function} ("namespace/name"), waiting at most {@code waitMs}. */
  public Future<Permit> acquire(String tenant, String function, long waitMs) {
    return acquire(tenant, function, 0, waitMs);
  }

  /** The same for a call that holds {@code memoryMiB} while it runs (counted against {@code maxMemoryInFlightMiB}). */
  public Future<Permit> acquire(String tenant, String function, int memoryMiB, long waitMs) {
    Promise<Permit> p = Promise.promise();
    context.execute(() -> {
      ArrayDeque<Waiter> queue = waiting.get(tenant);
      if ((queue == null || queue.stream().noneMatch(w -> w.function().equals(function))) && room(tenant, function, memoryMiB)) {
        p.complete(take(tenant, function, memoryMiB));
        return;
      }
      long[] timer = {-1};
      Waiter[] self = new Waiter[1];
      timer[0] = time.setTimer(Math.max(1, waitMs), () -> {
        ArrayDeque<Waiter> q = waiting.get(tenant);
        if (q != null && q.remove(self[0])) {
          if (q.isEmpty()) waiting.remove(tenant);
          p.tryFail(new NoRoom(!tenantRoom(tenant, memoryMiB)));
        }
      });
      self[0] = new Waiter(function, memoryMiB, p, timer[0]);
      waiting.computeIfAbsent(tenant, t -> new ArrayDeque<>()).add(self[0]);
      if (recheck < 0) {
        recheck = time.setPeriodic(RECHECK_MS, () -> {
          freed();
          if (waiting.isEmpty()) {
            time.cancelTimer(recheck);
            recheck = -1;
          }
        });
      }
    });
    return p.future();
  }

  public void release(Permit permit) {
    context.execute(() -> {
      byTenant.computeIfPresent(permit.tenant(), (k, n) -> n > 1 ? n - 1 : null);
      byFunction.computeIfPresent(permit.function(), (k, n) -> n > 1 ? n - 1 : null);
      if (permit.memoryMiB() > 0) memoryByTenant.computeIfPresent(permit.tenant(), (k, m) -> m > permit.memoryMiB() ? m - permit.memoryMiB() : null);
      freed();
      onFreed.run();
    });
  }

  /** Starts waiting calls that have room now; on the context (the dispatcher calls it when an attempt ends). */
  public void freed() {
    for (Iterator<Map.Entry<String, ArrayDeque<Waiter>>> it = waiting.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, ArrayDeque<Waiter>> e = it.next();
      String tenant = e.getKey();
      for (Iterator<Waiter> w = e.getValue().iterator(); w.hasNext() && tenantRoom(tenant, 0); ) {
        Waiter next = w.next();
        // Its function is full, or its memory does not fit: the tenant's other calls go on.
        if (!functionRoom(next.function()) || !tenantRoom(tenant, next.memoryMiB())) continue;
        w.remove();
        time.cancelTimer(next.timer());
        next.promise().tryComplete(take(tenant, next.function(), next.memoryMiB()));
      }
      if (e.getValue().isEmpty()) it.remove();
    }
  }

  /** Sync calls of the tenant running here; on the context. */
  public int running(String tenant) {
    return byTenant.getOrDefault(tenant, 0);
  }

  /** MiB held by the tenant's sync calls running here; on the context. */
  public long memory(String tenant) {
    return memoryByTenant.getOrDefault(tenant, 0L);
  }

  /** Sync calls of the function running here; on the context. */
  public int runningFunction(String function) {
    return byFunction.getOrDefault(function, 0);
  }

  /**
   * Whether a sync caller waits for a slot of the tenant itself (its function has room): the
   * dispatcher then leaves it the next one. One waiting for its function holds nothing back.
   */
  public boolean waitingForTenant(String tenant) {
    ArrayDeque<Waiter> q = waiting.get(tenant);
    if (q == null) return false;
    for (Waiter w : q) if (functionRoom(w.function())) return true;
    return false;
  }

  /** The memory of the first sync caller waiting for the tenant whose function has room (0: none): async work leaves it that much. */
  public int waitingMemory(String tenant) {
    ArrayDeque<Waiter> q = waiting.get(tenant);
    if (q == null) return 0;
    for (Waiter w : q) if (functionRoom(w.function())) return w.memoryMiB();
    return 0;
  }

  private boolean room(String tenant, String function, int memoryMiB) {
    return tenantRoom(tenant, memoryMiB) && functionRoom(function);
  }

  /** A slot of the tenant, and {@code memoryMiB} of its memory (one call larger than the whole limit runs alone). */
  private boolean tenantRoom(String tenant, int memoryMiB) {
    int others = running(tenant) + ledger.asyncRunning(tenant) + ledger.elsewhere(tenant);
    if (others >= ledger.tenantMax(tenant)) return false;
    long cap = ledger.tenantMemory(tenant);
    if (cap <= 0 || memoryMiB == 0) return true;
    long held = memory(tenant) + ledger.asyncMemory(tenant) + ledger.memoryElsewhere(tenant);
    return memoryMiB > cap ? others == 0 && held == 0 : held + memoryMiB <= cap;
  }

  private boolean functionRoom(String function) {
    return runningFunction(function) + ledger.asyncRunningFunction(function) < ledger.functionMax(function);
  }

  private Permit take(String tenant, String function, int memoryMiB) {
    byTenant.merge(tenant, 1, Integer::sum);
    byFunction.merge(function, 1, Integer::sum);
    if (memoryMiB > 0) memoryByTenant.merge(tenant, (long) memoryMiB, Long::sum);
    return new Permit(tenant, function, memoryMiB);
  }
}
