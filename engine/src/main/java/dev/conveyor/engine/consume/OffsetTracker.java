package dev.conveyor.engine.consume;

import java.util.ArrayDeque;

/**
 * Which offset of one partition is safe to commit when records finish out of order: the lowest
 * offset still in flight (or one past the last record seen when nothing is). Records arrive in
 * offset order, so a deque suffices; finished records at its head are dropped. Not thread-safe:
 * the dispatcher uses it from its own context.
 */
public final class OffsetTracker {
  /** One record's place; {@link #done()} marks it finished. */
  public static final class Slot {
    final long offset;
    boolean done;

    Slot(long offset) {
      this.offset = offset;
    }

    public void done() {
      done = true;
    }
  }

  private final ArrayDeque<Slot> slots = new ArrayDeque<>();
  private long next = -1;
  private long committed = -1;

  public Slot track(long offset) {
    Slot s = new Slot(offset);
    slots.addLast(s);
    next = Math.max(next, offset + 1);
    return s;
  }

  /** The offset to commit (the next record to read after a restart), or -1 if nothing was seen. */
  public long committable() {
    while (!slots.isEmpty() && slots.peekFirst().done) slots.removeFirst();
    return slots.isEmpty() ? next : slots.peekFirst().offset;
  }

  /** Returns the offset to commit if it moved past the last successful commit, else -1. */
  public long advance() {
    long c = committable();
    return c > committed ? c : -1;
  }

  /** The broker took a commit of {@code offset}; a failed commit is simply tried again. */
  public void committed(long offset) {
    committed = Math.max(committed, offset);
  }

  public int inFlight() {
    return (int) slots.stream().filter(s -> !s.done).count();
  }
}
