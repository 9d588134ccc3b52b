package dev.conveyor.engine.time;

import com.github.benmanes.caffeine.cache.Ticker;
import io.github.bucket4j.TimeMeter;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * The one source of time: the wall clock (what statuses, usage records and ages are stamped with),
 * a monotonic clock (what durations and deadlines are measured with), and timers. Everything that
 * depends on time takes a {@code Time}, so one test clock drives all of it; the libraries that keep
 * time of their own are fed from it ({@link #ticker()} for Caffeine, {@link #meter()} for Bucket4j,
 * {@link #clock()} for Resilience4j).
 *
 * <p>{@link #system(Vertx)} is the gateway's: timers are Vert.x timers, so a timer's task runs on the
 * event loop that set it.
 */
public interface Time {
  /** The wall clock, to the millisecond (the precision records and statuses keep). */
  Instant now();

  /** The monotonic clock in nanoseconds, for durations and deadlines; not related to the wall clock. */
  long nanos();

  /** The wall clock in milliseconds since the epoch. */
  default long millis() {
    return now().toEpochMilli();
  }

  /** Runs {@code task} once after {@code delayMs} (at least 1 ms); the id cancels it. */
  long setTimer(long delayMs, Runnable task);

  /** Runs {@code task} every {@code periodMs} (at least 1 ms; the first time one period from now) until cancelled. */
  long setPeriodic(long periodMs, Runnable task);

  /** Cancels a timer not yet run, or a periodic one; false if it ran or was cancelled. */
  boolean cancelTimer(long id);

  /**
   * Runs {@code task} once after {@code delayMs} (at least 1 ms) unless the returned handle is run
   * first: for a deadline that is nearly always cancelled (a call's timeout, the running status of a
   * call that ends sooner). Running the handle after the task ran, or twice, does nothing.
   */
  default Runnable deadline(long delayMs, Runnable task) {
    long id = setTimer(delayMs, task);
    return () -> cancelTimer(id);
  }

  /** This monotonic clock, for Caffeine's expiry and refresh. */
  default Ticker ticker() {
    return this::nanos;
  }

  /** This monotonic clock, for Bucket4j's refill. */
  default TimeMeter meter() {
    Time t = this;
    return new TimeMeter() {
      @Override
      public long currentTimeNanos() {
        return t.nanos();
      }

      @Override
      public boolean isWallClockBased() {
        return false;
      }
    };
  }

  /** This wall clock as a {@link Clock}, for Resilience4j's windows and open state. */
  default Clock clock() {
    return new TimeClock(this, ZoneOffset.UTC);
  }

  /** A {@link Time}'s wall clock as a {@link Clock}. */
  final class TimeClock extends Clock {
    private final Time time;
    private final ZoneId zone;

    TimeClock(Time time, ZoneId zone) {
      this.time = time;
      this.zone = zone;
    }

    @Override
    public ZoneId getZone() {
      return zone;
    }

    @Override
    public Clock withZone(ZoneId other) {
      return new TimeClock(time, other);
    }

    @Override
    public Instant instant() {
      return time.now();
    }

    @Override
    public long millis() {
      return time.millis();
    }
  }

  /** The system's clocks, with Vert.x timers. */
  static Time system(Vertx vertx) {
    return new SystemTime(vertx);
  }

  /** The system's clocks, for code that sets no timers (the command line); {@link #setTimer} fails. */
  static Time clocks() {
    return new SystemTime(null);
  }

  /** The system's clocks; timers on a Vert.x instance when there is one. */
  final class SystemTime implements Time {
    private final Vertx vertx;

    private SystemTime(Vertx vertx) {
      this.vertx = vertx;
    }

    @Override
    public Instant now() {
      return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    @Override
    public long millis() {
      return System.currentTimeMillis();
    }

    @Override
    public long nanos() {
      return System.nanoTime();
    }

    @Override
    public long setTimer(long delayMs, Runnable task) {
      if (vertx == null) throw new UnsupportedOperationException("this clock has no timers");
      return vertx.setTimer(Math.max(1, delayMs), id -> task.run());
    }

    @Override
    public long setPeriodic(long periodMs, Runnable task) {
      if (vertx == null) throw new UnsupportedOperationException("this clock has no timers");
      return vertx.setPeriodic(Math.max(1, periodMs), id -> task.run());
    }

    @Override
    public boolean cancelTimer(long id) {
      return vertx != null && vertx.cancelTimer(id);
    }

    /**
     * On an event loop, a task of its Netty loop, run in the calling context as a Vert.x timer's
     * would be. A Vert.x timer also enters a map of every timer by id and a close hook of its
     * context, and leaves both again when cancelled: for the two deadlines of each call (its timeout,
     * its running status) that cost a delivering replica 2.4% of its CPU (profiled). Such a task does
     * not run once its context closed (a verticle undeployed) or its event loop shut down, as a Vert.x
     * timer would not. Off an event loop of this Vert.x instance (a worker, the command line), a
     * Vert.x timer.
     */
    @Override
    public Runnable deadline(long delayMs, Runnable task) {
      io.vertx.core.internal.ContextInternal ctx = (io.vertx.core.internal.ContextInternal) Vertx.currentContext();
      if (vertx == null || ctx == null || ctx.owner() != vertx || !ctx.isEventLoopContext() || !ctx.nettyEventLoop().inEventLoop()) {
        return Time.super.deadline(delayMs, task);
      }
      // A Vert.x timer ends when its context closes (a verticle undeployed): so does this, when it is due.
      io.netty.util.concurrent.ScheduledFuture<?> f = ctx.nettyEventLoop().schedule(() -> {
        if (!ctx.closeFuture().isClosed()) ctx.emit(v -> task.run());
      }, Math.max(1, delayMs), java.util.concurrent.TimeUnit.MILLISECONDS);
      return () -> f.cancel(false);
    }
  }
}
