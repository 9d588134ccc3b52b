package dev.conveyor.engine.dispatch;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Which waiting invocation starts next, under four bounds: the dispatcher's {@code maxInFlight},
 * each tenant's {@code maxConcurrency} and {@code maxMemoryInFlightMiB} (less what runs on other
 * replicas) and each function's {@code concurrency}. A tenant or function at its limit simply has
 * nothing runnable; its jobs wait here while every other tenant's keep starting, so there is no
 * head-of-line blocking between tenants or between a tenant's functions.
 *
 * <p>Memory. A function whose next attempt needs more memory than the tenant has free lets the
 * tenant's other functions start meanwhile (a small one may start while a large one waits), but at
 * most {@link #MAX_PASSED_OVER} times: then the tenant reserves for the large one, starting nothing
 * else until enough of its running attempts have ended for it to fit. So a large function never
 * waits for more than that many starts plus the end of what runs, and small ones are not held up
 * by a large one that has not waited long.
 *
 * <p>Between tenants that all have runnable work it is weighted fair: stride scheduling, each tenant
 * advancing its pass by {@code 1 / weight} per job started and the lowest pass going next (a heap of
 * the tenants with waiting jobs: O(log tenants) per start), so under contention tenants start jobs in
 * proportion to their weights. A tenant that was idle rejoins at the global pass (that of the last
 * tenant chosen): it gets its share from now on, no credit for the time it was away. Inside a tenant
 * its functions take turns.
 *
 * <p>Not thread-safe: the dispatcher uses it from its own context only.
 */
public final class FairScheduler<T> {
  /** The limits, read at each decision so a config reload applies at once. */
  public interface Limits {
    int tenantMax(String tenant);

    int weight(String tenant);

    int functionMax(String function);

    /** Invocations of the tenant running on other replicas now (during a rebalance). */
    int elsewhere(String tenant);

    /** The memory (MiB) the tenant's attempts may hold at once here; 0: no memory limit. */
    default long tenantMemory(String tenant) {
      return 0;
    }

    /** The memory (MiB) of the tenant's attempts counted against it that run on other replicas or as sync calls. */
    default long memoryElsewhere(String tenant) {
      return 0;
    }
  }

  /**
   * How many times smaller attempts of a tenant may start ahead of one of its functions that waits
   * for memory, before the tenant holds everything else back until that one fits.
   */
  public static final int MAX_PASSED_OVER = 8;

  /** A waiting invocation: its tenant, its function (namespace/name), its source partition and the memory it holds when it runs. */
  public record Job<T>(String tenant, String function, int partition, T value, int memoryMiB) {
    public Job(String tenant, String function, int partition, T value) {
      this(tenant, function, partition, value, 0);
    }
  }

  private static final class Line<T> {
    final String function;
    final ArrayDeque<Job<T>> jobs = new ArrayDeque<>();
    /** Starts of the tenant's other functions since this line's first job last found too little memory. */
    int passedOver;

    Line(String function) {
      this.function = function;
    }
  }

  private static final class TenantQueue<T> {
    final String name;
    final Map<String, Line<T>> lines = new HashMap<>();
    final ArrayDeque<Line<T>> turn = new ArrayDeque<>(); // lines with jobs, in turn order
    int running;
    int waiting;
    /** MiB held by its attempts running here. */
    long memory;
    /** A line passed over {@link #MAX_PASSED_OVER} times for memory: it goes next, nothing passes it. */
    Line<T> reserved;
    double pass;

    TenantQueue(String name) {
      this.name = name;
    }
  }

  private final Limits limits;
  private final Map<String, TenantQueue<T>> tenants = new HashMap<>();
  /** The tenants with waiting jobs, lowest pass first: choosing the next one is O(log tenants), not a scan. */
  private final PriorityQueue<TenantQueue<T>> ready = new PriorityQueue<>(
      Comparator.<TenantQueue<T>>comparingDouble(t -> t.pass).thenComparing(t -> t.name));
  private final Map<String, Integer> functionRunning = new HashMap<>();
  private final Map<Integer, Integer> waitingByPartition = new HashMap<>();
  private int running;
  private int waiting;
  /** The pass of the last tenant chosen (stride scheduling's global pass): where an idle tenant rejoins. */
  private double globalPass;

  public FairScheduler(Limits limits) {
    this.limits = limits;
  }

  public void offer(Job<T> job) {
    TenantQueue<T> t = tenants.computeIfAbsent(job.tenant(), TenantQueue::new);
    if (t.waiting == 0 && t.running == 0) t.pass = Math.max(t.pass, globalPass);
    if (t.waiting == 0) ready.add(t);
    Line<T> line = t.lines.computeIfAbsent(job.function(), Line::new);
    if (line.jobs.isEmpty()) t.turn.add(line);
    line.jobs.add(job);
    t.waiting++;
    waiting++;
    waitingByPartition.merge(job.partition(), 1, Integer::sum);
  }

  /** The jobs to start now (marked running), while fewer than {@code maxInFlight} run. */
  public List<Job<T>> next(int maxInFlight) {
    List<Job<T>> start = new ArrayList<>();
    List<TenantQueue<T>> atLimit = new ArrayList<>();
    while (running < maxInFlight && waiting > 0) {
      TenantQueue<T> t = ready.poll();
      if (t == null) break;
      Line<T> line = t.running + limits.elsewhere(t.name) >= limits.tenantMax(t.name) ? null : runnableLine(t);
      if (line == null) {
        atLimit.add(t); // nothing of it may start now: it keeps its pass and its place for the next call
        continue;
      }
      start.add(take(t, line));
      if (t.waiting > 0) ready.add(t);
    }
    ready.addAll(atLimit);
    return start;
  }

  private Line<T> runnableLine(TenantQueue<T> t) {
    long cap = limits.tenantMemory(t.name);
    if (cap <= 0) {
      for (Line<T> line : t.turn) if (functionRoom(line)) return line;
      return null;
    }
    long elsewhere = limits.memoryElsewhere(t.name);
    if (t.reserved != null) return functionRoom(t.reserved) && fits(t, t.reserved, cap, elsewhere) ? t.reserved : null;
    List<Line<T>> passed = null;
    for (Line<T> line : t.turn) {
      if (!functionRoom(line)) continue;
      if (fits(t, line, cap, elsewhere)) {
        if (passed != null) {
          for (Line<T> p : passed) {
            if (++p.passedOver >= MAX_PASSED_OVER && t.reserved == null) t.reserved = p;
          }
        }
        return line;
      }
      if (passed == null) passed = new ArrayList<>(2);
      passed.add(line);
    }
    return null;
  }

  private boolean functionRoom(Line<T> line) {
    return functionRunning.getOrDefault(line.function, 0) < limits.functionMax(line.function);
  }

  /**
   * Whether the line's next job fits in the tenant's memory. One larger than the whole limit (queued
   * before the limit or the function's memory changed) runs alone: when nothing else of the tenant runs.
   */
  private boolean fits(TenantQueue<T> t, Line<T> line, long cap, long elsewhere) {
    int need = line.jobs.peek().memoryMiB();
    if (need > cap) return t.running == 0 && t.memory == 0 && elsewhere == 0;
    return t.memory + elsewhere + need <= cap;
  }

  private Job<T> take(TenantQueue<T> t, Line<T> line) {
    t.turn.remove(line);
    Job<T> job = line.jobs.poll();
    if (!line.jobs.isEmpty()) t.turn.add(line); // its next job waits for the other lines' turns
    t.waiting--;
    waiting--;
    waitingByPartition.merge(job.partition(), -1, Integer::sum);
    t.running++;
    t.memory += job.memoryMiB();
    line.passedOver = 0;
    if (t.reserved == line) t.reserved = null;
    running++;
    functionRunning.merge(job.function(), 1, Integer::sum);
    globalPass = Math.max(globalPass, t.pass);
    t.pass += 1.0 / Math.max(1, limits.weight(t.name));
    return job;
  }

  /** A started job ended. */
  public void finished(Job<T> job) {
    TenantQueue<T> t = tenants.get(job.tenant());
    t.running--;
    t.memory -= job.memoryMiB();
    running--;
    functionRunning.merge(job.function(), -1, Integer::sum);
    if (t.running == 0 && t.waiting == 0) tenants.remove(t.name);
  }

  /** Forgets the waiting jobs of partitions this replica no longer owns; returns them. */
  public List<Job<T>> drop(java.util.Collection<Integer> partitions) {
    List<Job<T>> dropped = new ArrayList<>();
    for (Iterator<TenantQueue<T>> it = tenants.values().iterator(); it.hasNext(); ) {
      TenantQueue<T> t = it.next();
      for (Line<T> line : t.lines.values()) {
        line.jobs.removeIf(j -> {
          if (!partitions.contains(j.partition())) return false;
          dropped.add(j);
          return true;
        });
      }
      t.turn.removeIf(l -> l.jobs.isEmpty());
      t.lines.values().removeIf(l -> l.jobs.isEmpty());
      if (t.reserved != null && t.reserved.jobs.isEmpty()) t.reserved = null;
      t.waiting = t.lines.values().stream().mapToInt(l -> l.jobs.size()).sum();
      if (t.waiting == 0 && t.running == 0) it.remove();
    }
    waiting -= dropped.size();
    partitions.forEach(waitingByPartition::remove);
    ready.clear();
    for (TenantQueue<T> t : tenants.values()) if (t.waiting > 0) ready.add(t);
    return dropped;
  }

  /**
   * For each tenant with waiting jobs, the least {@code since} among the first jobs of its functions'
   * lines (each line starts its jobs in the order they came, so its first job has waited longest).
   */
  public Map<String, Long> oldestWaiting(java.util.function.ToLongFunction<T> since) {
    Map<String, Long> out = new HashMap<>();
    for (TenantQueue<T> t : tenants.values()) {
      for (Line<T> line : t.turn) {
        Job<T> first = line.jobs.peek();
        if (first != null) out.merge(t.name, since.applyAsLong(first.value()), Math::min);
      }
    }
    return out;
  }

  public int running() {
    return running;
  }

  public int waiting() {
    return waiting;
  }

  public int waiting(int partition) {
    return waitingByPartition.getOrDefault(partition, 0);
  }

  /** Jobs of {@code function} running now. */
  public int runningFunction(String function) {
    return functionRunning.getOrDefault(function, 0);
  }

  public int running(String tenant) {
    TenantQueue<T> t = tenants.get(tenant);
    return t == null ? 0 : t.running;
  }

  /** MiB held by the tenant's attempts running here. */
  public long memory(String tenant) {
    TenantQueue<T> t = tenants.get(tenant);
    return t == null ? 0 : t.memory;
  }
}
