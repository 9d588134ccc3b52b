package dev.conveyor.engine.http;

import dev.conveyor.engine.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.vertx.ext.web.RoutingContext;

/** The server span of an invoke call: the caller's context extracted, ended with the response. */
final class ServerSpans {
  private ServerSpans() {}

  /** Starts the span; returns the context its children hang under. */
  static Context start(Tracing tracing, RoutingContext ctx, String tenant) {
    var req = ctx.request();
    String route = ctx.currentRoute() == null ? req.path() : ctx.currentRoute().getPath();
    // The header names are listed only if a propagator asks (W3C and B3 look up their own headers).
    Context caller = tracing.extract(req::getHeader, () -> req.headers().names().iterator());
    Span server = tracing.tracer().spanBuilder(req.method().name() + " " + route).setSpanKind(SpanKind.SERVER)
        .setParent(caller).setAttribute("http.request.method", req.method().name()).setAttribute("http.route", route)
        .setAttribute("tenant", tenant).startSpan();
    // a span that does not record (tracing off, or not sampled) ignores its end: nothing to hang on the response
    if (server.isRecording()) {
      ctx.addEndHandler(v -> server.setAttribute("http.response.status_code", ctx.response().getStatusCode()).end());
    }
    return caller.with(server);
  }
}
