package dev.conveyor.engine.observability;

import dev.conveyor.engine.invoke.AttemptResult;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long a cold attempt waited for its revision to scale from zero. The Activator holds the
 * request until a pod is ready, then passes it on; neither it nor queue-proxy says how long it held
 * it (knative/serving adds no {@code Server-Timing} or other timing header). Three inputs, the first
 * that is there wins:
 * <ol>
 *   <li>the function's own {@code Server-Timing} ({@code dur=} values, summed): the time to the first
 *       byte less the function's time is the hold, exactly;
 *   <li>the moment discovery saw the revision get a ready replica during the attempt (the autoscaler's
 *       {@code actualReplicas} through the informer): the hold ended then, at the latest at the first byte;
 *   <li>the time to the first byte: the function's own time before it counts as cold start too.
 * </ol>
 */
public final class ColdStarts {
  private static final Pattern DUR = Pattern.compile("dur=([0-9]+(?:\\.[0-9]+)?)");

  private ColdStarts() {}

  public static long millis(AttemptResult res) {
    return millis(res, null, null);
  }

  /** @param start the attempt's start; {@code readySince} when a ready replica was seen (null: not seen) */
  public static long millis(AttemptResult res, Instant start, Instant readySince) {
    if (!(res instanceof AttemptResult.Response r)) return 0;
    if (r.serverTiming() != null && serverTimingMs(r.serverTiming()) > 0) {
      return Math.max(0, r.firstByteMs() - Math.round(serverTimingMs(r.serverTiming())));
    }
    if (start != null && readySince != null && readySince.isAfter(start)) {
      return Math.min(r.firstByteMs(), readySince.toEpochMilli() - start.toEpochMilli());
    }
    return r.firstByteMs();
  }

  /** The sum of the {@code dur} values of a {@code Server-Timing} header, in ms (0 when absent or unreadable). */
  static double serverTimingMs(String header) {
    if (header == null) return 0;
    double total = 0;
    Matcher m = DUR.matcher(header);
    while (m.find()) {
      try {
        total += Double.parseDouble(m.group(1));
      } catch (NumberFormatException e) {
        return 0;
      }
    }
    return total;
  }

  /** The {@code cold start {fn}} span under the attempt's span, from the attempt's start, as long as the wait. */
  public static void span(Tracer tracer, Context attempt, String function, Instant start, long coldMs) {
    long startNanos = TimeUnit.MILLISECONDS.toNanos(start.toEpochMilli());
    tracer.spanBuilder("cold start " + function).setSpanKind(SpanKind.INTERNAL).setParent(attempt)
        .setAttribute("faas.coldstart", true).setStartTimestamp(startNanos, TimeUnit.NANOSECONDS)
        .startSpan().end(startNanos + TimeUnit.MILLISECONDS.toNanos(coldMs), TimeUnit.NANOSECONDS);
  }
}
