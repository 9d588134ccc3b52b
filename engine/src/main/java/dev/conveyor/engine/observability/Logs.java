package dev.conveyor.engine.observability;

import dev.conveyor.engine.api.Invocation;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.context.Context;
import org.slf4j.MDC;

/**
 * Log lines about an invocation carry its {@code trace_id}, {@code span_id}, {@code tenant} and
 * {@code invocation_id} (the log fields docs/observability.md lists): set in the MDC around the logging call only, because the event
 * loop that runs it runs every other invocation too.
 */
public final class Logs {
  private Logs() {}

  public static void in(Context trace, Invocation inv, Runnable log) {
    SpanContext sc = Span.fromContext(trace).getSpanContext();
    String traceId = sc.isValid() ? sc.getTraceId() : inv.traceId();
    try {
      if (traceId != null) MDC.put("trace_id", traceId);
      if (sc.isValid()) MDC.put("span_id", sc.getSpanId());
      MDC.put("tenant", inv.tenant());
      MDC.put("invocation_id", inv.id());
      log.run();
    } finally {
      MDC.remove("trace_id");
      MDC.remove("span_id");
      MDC.remove("tenant");
      MDC.remove("invocation_id");
    }
  }
}
