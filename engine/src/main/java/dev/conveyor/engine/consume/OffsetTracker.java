package dev.conveyor.engine.consume;

import java.util.ArrayDeque;

/**
 * Which offset of one partition is safe to commit when records finish out of order: the lowest
 * offset still in flight (or one past the last record seen when nothing is). Records arrive in
 * offset order, so a deque suffices; finished records at its head are dropped once the broker took
 * a commit past them (until then a partition revoked and given straight back, which is read again
 * from that commit, can tell what finished here: {@link #byOffset}). Not thread-safe: the
 * dispatcher uses it from its own context.
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

  /** Finished slots kept at most (a commit failing for long): beyond it the oldest finished ones are dropped. */
  static final int MAX_KEPT = 100_000;
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
    if (slots.size() > MAX_KEPT) drop(Long.MAX_VALUE);
    for (Slot s : slots) if (!s.done) return s.offset;
    return next;
  }

  /** Returns the offset to commit if it moved past the last successful commit, else -1. */
  public long advance() {
    long c = committable();
    return c > committed ? c : -1;
  }

  /** The broker took a commit of {@code offset}; a failed commit is simply tried again. */
  public void committed(long offset) {
    committed = Math.max(committed, offset);
    drop(committed);
  }

  /** Drops the finished slots at the head below {@code offset}. */
  private void drop(long offset) {
    while (!slots.isEmpty() && slots.peekFirst().done && slots.peekFirst().offset < offset) slots.removeFirst();
  }

  /**
   * The slots since the last commit the broker took, by offset: a record read again after its
   * partition came back finished here if its slot is done (now, or by the time it is read again).
   */
  java.util.Map<Long, Slot> byOffset() {
    java.util.Map<Long, Slot> m = new java.util.HashMap<>(slots.size() * 2);
    for (Slot s : slots) m.put(s.offset, s);
    return m;
  }

  /** One past the last offset seen. */
  long next() {
    return next;
  }

  public int inFlight() {
    return (int) slots.stream().filter(s -> !s.done).count();
  }
}
