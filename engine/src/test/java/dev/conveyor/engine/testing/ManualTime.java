package dev.conveyor.engine.testing;

import dev.conveyor.engine.time.Time;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * A clock that moves only when a test moves it, with timers that fire as it passes them, in due
 * order, on the test's thread. The wall and the monotonic clock move together.
 */
public final class ManualTime implements Time {
  private record Key(long dueNanos, long id) implements Comparable<Key> {
    @Override
    public int compareTo(Key o) {
      int c = Long.compare(dueNanos, o.dueNanos);
      return c != 0 ? c : Long.compare(id, o.id);
    }
  }

  private final TreeMap<Key, Runnable> timers = new TreeMap<>();
  private final Map<Long, Key> keys = new java.util.HashMap<>();
  private final java.util.Set<Long> periodic = new java.util.HashSet<>();
  private Instant wall;
  private long nanos = 1_000_000_000L;
  private long nextId = 1;

  public ManualTime(Instant start) {
    this.wall = start;
  }

  public ManualTime() {
    this(Instant.parse("2026-12-01T10:00:00Z"));
  }

  @Override
  public synchronized Instant now() {
    return wall;
  }

  @Override
  public synchronized long nanos() {
    return nanos;
  }

  @Override
  public synchronized long setTimer(long delayMs, Runnable task) {
    long id = nextId++;
    schedule(id, delayMs, task);
    return id;
  }

  /** Periodic timers keep their id; each run sets the next one a period after it (as Vert.x does). */
  @Override
  public synchronized long setPeriodic(long periodMs, Runnable task) {
    long id = nextId++;
    periodic.add(id);
    schedule(id, periodMs, new Runnable() {
      @Override
      public void run() {
        task.run();
        synchronized (ManualTime.this) {
          if (periodic.contains(id)) schedule(id, periodMs, this);
        }
      }
    });
    return id;
  }

  private void schedule(long id, long delayMs, Runnable task) {
    Key k = new Key(nanos + Duration.ofMillis(Math.max(1, delayMs)).toNanos(), id);
    timers.put(k, task);
    keys.put(id, k);
  }

  @Override
  public synchronized boolean cancelTimer(long id) {
    boolean wasPeriodic = periodic.remove(id);
    Key k = keys.remove(id);
    return (k != null && timers.remove(k) != null) || wasPeriodic;
  }

  /** Moves both clocks by {@code d}, running every timer due on the way (and those they set) in due order. */
  public void advance(Duration d) {
    long target;
    synchronized (this) {
      target = nanos + d.toNanos();
    }
    while (true) {
      Runnable task;
      synchronized (this) {
        Map.Entry<Key, Runnable> first = timers.firstEntry();
        if (first == null || first.getKey().dueNanos() > target) {
          move(target);
          return;
        }
        timers.remove(first.getKey());
        keys.remove(first.getKey().id());
        move(first.getKey().dueNanos());
        task = first.getValue();
      }
      task.run();
    }
  }

  /** Runs timers until none is left, moving the clocks to each; false if more than {@code max} ran. */
  public boolean runAll(int max) {
    for (int i = 0; i < max; i++) {
      Long due = nextDue();
      if (due == null) return true;
      long step;
      synchronized (this) {
        step = Math.max(0, due - nanos);
      }
      advance(Duration.ofNanos(step));
    }
    return nextDue() == null;
  }

  /** When the next timer is due (monotonic nanos), or null. */
  public synchronized Long nextDue() {
    return timers.isEmpty() ? null : timers.firstKey().dueNanos();
  }

  public synchronized int pendingTimers() {
    return timers.size();
  }

  private void move(long toNanos) {
    long by = toNanos - nanos;
    if (by <= 0) return;
    nanos = toNanos;
    wall = wall.plusNanos(by);
  }
}
