package dev.conveyor.engine.consume;

import java.util.ArrayDeque;

/**
 * Which offset of one partition is safe to commit when records finish out of order: the lowest
 * offset still in flight (or one past the last record seen when nothing is). Records arrive in
 * offset order, so a deque suffices; finished records at its head are dropped once the broker took
 * a commit past them (until then a partition revoked and given straight back, which is read again
 * from that commit, can tell what finished here: {@link #kept}). Not thread-safe: the
 * dispatcher uses it from its own context.
 */
public final class OffsetTracker {
  /** One record's place; {@link #done()} marks it finished. */
  public static final class Slot {
    final long offset;
    boolean done;
    private boolean abandoned;
    private Runnable then;

    Slot(long offset) {
      this.offset = offset;
    }

    public void done() {
      if (done) return;
      done = true;
      if (then != null) then.run();
    }

    /** Its record will not finish here (its partition was revoked before it started): it never becomes done. */
    public void abandon() {
      abandoned = true;
    }

    public boolean abandoned() {
      return abandoned;
    }

    /** Runs {@code next} when this slot is done: now if it is. */
    public void then(Runnable next) {
      if (done) {
        next.run();
        return;
      }
      Runnable first = then;
      then = first == null ? next : () -> {
        first.run();
        next.run();
      };
    }
  }

  /**
   * Slots kept at most (a commit failing for long): beyond it the finished ones at the head are
   * dropped (those behind a slot still running stay, as its offset holds the commit).
   */
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
   * The slots since the last commit the broker took, in offset order (records arrive in it): what a
   * record read again after its partition came back had here.
   */
  Slot[] kept() {
    return slots.toArray(new Slot[0]);
  }

  /** One past the last offset seen. */
  long next() {
    return next;
  }

  public int inFlight() {
    return (int) slots.stream().filter(s -> !s.done).count();
  }
}
