package dev.conveyor.engine.functions;

import java.time.Instant;
import java.util.List;

/**
 * What Knative says about the revision(s) that carry a target's traffic; {@link #NONE} for static
 * targets (nothing known: no cold starts, no platform answers, no capacity bound).
 *
 * @param containerConcurrency the revision's hard per-pod limit ({@code spec.containerConcurrency}; 0 = unlimited)
 * @param podCapacity calls the ready pods take at once without queueing in queue-proxy: containerConcurrency ×
 *     ready pods, scaled by the revision's share of a traffic split (0 = unlimited or unknown)
 * @param timeoutMs the revision's {@code spec.timeoutSeconds} in ms: how long the Activator holds a call while
 *     the revision scales from zero, and queue-proxy lets a call run (0 = not a Knative revision)
 * @param caCerts PEM of the CA that signed the revision's cluster-local certificate
 *     ({@code status.address.CACerts}), or null (public trust)
 * @param split the revisions carrying traffic with their percent, as {@code name=percent}, when more than one
 *     does (empty otherwise)
 * @param readySince when discovery last saw the revision go from no ready replica to some (null: never seen)
 */
public record Serving(int containerConcurrency, int podCapacity, long timeoutMs, String caCerts, List<String> split,
    Instant readySince) {
  public static final Serving NONE = new Serving(0, 0, 0, null, List.of(), null);

  public Serving {
    split = List.copyOf(split);
  }

  public boolean knative() {
    return timeoutMs > 0;
  }
}
