package dev.conveyor.engine.limit;

import com.netflix.concurrency.limits.limit.AIMDLimit;
import dev.conveyor.engine.functions.FunctionTarget;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * How many calls of a function may be in flight at once, from what the function's configuration
 * and its Knative revision allow, adapted to push-back.
 *
 * <p>Algorithm: the bound is the function's own {@code concurrency}, and for a Knative revision with a
 * {@code containerConcurrency} also {@value #HEADROOM} × its pod capacity (containerConcurrency × ready
 * pods, at least one pod). Within the bound, Netflix concurrency-limits' AIMD limit adapts: an overload
 * answer (queue-proxy's or the Activator's 503 {@code pending request queue full}) multiplies it by
 * 0.9, any other answer adds one while the calls in flight use half of it. When the pods scale, the
 * bound moves and the limit follows at once upwards, and is cut to the new bound downwards.
 *
 * <p>Why {@value #HEADROOM} × capacity: Knative's autoscaler scales on the concurrency it observes per
 * pod, against a target of 70 % of containerConcurrency by default. Sending exactly the capacity would
 * show it demand equal to what it has and it would never add pods; twice the capacity shows it the
 * demand, and queue-proxy queues the extra calls (it takes 10 × containerConcurrency waiting per pod
 * before it answers 503), so none is refused.
 */
public final class FunctionCapacity {
  /** In-flight calls allowed per call the ready pods run at once. */
  public static final int HEADROOM = 2;

  private final Map<String, Adaptive> functions = new ConcurrentHashMap<>();
  /** Calls in flight per function, sync and async together: what AIMD's "in use" test reads. */
  private final Map<String, java.util.concurrent.atomic.AtomicInteger> inflight = new ConcurrentHashMap<>();

  /** A call of {@code target} starts; returns how many were in flight with it. Pair with {@link #ended}. */
  public int started(FunctionTarget target) {
    return inflight.computeIfAbsent(target.key(), k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
  }

  public void ended(FunctionTarget target) {
    var n = inflight.get(target.key());
    if (n != null) n.decrementAndGet();
  }

  /** The calls of {@code target} that may be in flight now. */
  public int limit(FunctionTarget target) {
    int bound = bound(target);
    Adaptive a = functions.get(target.key());
    return a == null ? bound : a.limit(bound);
  }

  static int bound(FunctionTarget t) {
    int own = t.concurrency();
    int pods = t.serving().podCapacity();
    return pods > 0 ? (int) Math.min(own, (long) pods * HEADROOM) : own;
  }

  /**
   * One call ended. {@code overloaded}: the platform refused it for want of room; {@code inflight}: the
   * function's calls in flight when it started.
   */
  public void sample(FunctionTarget target, long startNanos, long rttNanos, int inflight, boolean overloaded) {
    int bound = bound(target);
    Adaptive a = overloaded ? functions.computeIfAbsent(target.key(), k -> new Adaptive(bound)) : functions.get(target.key());
    if (a != null) a.sample(bound, startNanos, rttNanos, inflight, overloaded);
  }

  /** An AIMD limit within a bound that may move (pods come and go). Only functions pushed back get one. */
  private static final class Adaptive {
    private int bound;
    private AIMDLimit limit;

    Adaptive(int bound) {
      this.bound = bound;
      this.limit = build(bound, bound);
    }

    private static AIMDLimit build(int initial, int max) {
      // No RTT is too long for a function (the attempt timeout judges that): only drops lower the limit.
      return AIMDLimit.newBuilder().minLimit(1).initialLimit(Math.max(1, initial)).maxLimit(Math.max(1, max))
          .backoffRatio(0.9).timeout(365, TimeUnit.DAYS).build();
    }

    synchronized int limit(int now) {
      if (now != bound) {
        limit = build(now > bound ? now : Math.min(limit.getLimit(), now), now);
        bound = now;
      }
      return limit.getLimit();
    }

    synchronized void sample(int now, long startNanos, long rttNanos, int inflight, boolean dropped) {
      limit(now);
      limit.onSample(startNanos, rttNanos, inflight, dropped);
    }
  }
}
