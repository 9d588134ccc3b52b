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
 * How long a cold attempt waited for its revision to scale from zero: the time to the response's
 * first byte (the Activator holds the request until a replica is ready), minus the function's own
 * time where it reports it in {@code Server-Timing} ({@code dur=} values, summed). Without that
 * header the function's own time before its first byte counts as cold start too.
 */
public final class ColdStarts {
  private static final Pattern DUR = Pattern.compile("dur=([0-9]+(?:\\.[0-9]+)?)");

  private ColdStarts() {}

  public static long millis(AttemptResult res) {
    if (!(res instanceof AttemptResult.Response r)) return 0;
    return Math.max(0, r.firstByteMs() - Math.round(serverTimingMs(r.serverTiming())));
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
