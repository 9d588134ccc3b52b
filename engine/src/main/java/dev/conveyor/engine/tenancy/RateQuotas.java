package dev.conveyor.engine.tenancy;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.config.ConveyorConfig.Limits;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A token bucket per tenant (Bucket4j, lock-free): {@code burst} tokens, refilled at
 * {@code ratePerSecond}. Checked at accept time on the event loop, never waiting: a request that
 * finds the bucket empty is refused with the honest wait until the next token. A tenant whose
 * limits change (config reload) gets a new bucket. Enforced per replica: behind a load balancer
 * spreading over R replicas a tenant gets up to R times its rate.
 */
public final class RateQuotas {
  private record Entry(int rate, int burst, Bucket bucket) {}

  private final ConcurrentHashMap<String, Entry> buckets = new ConcurrentHashMap<>();
  private final TimeMeter time;

  public RateQuotas(Time time) {
    this.time = time.meter();
  }

  /** Takes a token; empty when granted, else the seconds to wait (at least 1) for the next one. */
  public OptionalLong tryAcquire(String tenant, Limits limits) {
    Entry e = buckets.compute(tenant, (k, old) -> old != null && old.rate() == limits.ratePerSecond() && old.burst() == limits.burst()
        ? old : new Entry(limits.ratePerSecond(), limits.burst(), bucket(limits)));
    ConsumptionProbe probe = e.bucket().tryConsumeAndReturnRemaining(1);
    if (probe.isConsumed()) return OptionalLong.empty();
    return OptionalLong.of(Math.max(1, (long) Math.ceil(probe.getNanosToWaitForRefill() / (double) TimeUnit.SECONDS.toNanos(1))));
  }

  private Bucket bucket(Limits l) {
    Bandwidth b = Bandwidth.builder().capacity(l.burst()).refillGreedy(l.ratePerSecond(), Duration.ofSeconds(1)).build();
    return Bucket.builder().addLimit(b).withCustomTimePrecision(time).build();
  }
}
