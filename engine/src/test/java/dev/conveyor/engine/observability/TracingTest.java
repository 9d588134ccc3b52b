package dev.conveyor.engine.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TracingTest {
  private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String SPAN = "00f067aa0ba902b7";
  private static final Context REMOTE = Context.root().with(Span.wrap(
      SpanContext.createFromRemoteParent(TRACE, SPAN, TraceFlags.getSampled(), TraceState.getDefault())));

  @Test
  void withoutAnExporterNothingIsRecordedAndW3cIsPropagated() {
    try (Tracing t = Tracing.configure(Map.of(), Map.of())) {
      assertThat(t.recording()).isFalse();
      assertThat(t.inject(REMOTE)).containsEntry("traceparent", "00-" + TRACE + "-" + SPAN + "-01");
      Span child = t.tracer().spanBuilder("x").setParent(REMOTE).startSpan();
      assertThat(child.isRecording()).isFalse();
      assertThat(child.getSpanContext().getSpanId()).as("no-op: the parent's context is carried on").isEqualTo(SPAN);
    }
  }

  @Test
  void b3IsUsedWhenOtelPropagatorsAsksForIt() {
    try (Tracing t = Tracing.configure(Map.of("OTEL_PROPAGATORS", "b3"), Map.of())) {
      Map<String, String> headers = t.inject(REMOTE);
      assertThat(headers).containsEntry("b3", TRACE + "-" + SPAN + "-1").doesNotContainKey("traceparent");
      Context back = t.extract(headers::get, List.of("b3"));
      assertThat(Span.fromContext(back).getSpanContext().getTraceId()).isEqualTo(TRACE);
    }
    try (Tracing t = Tracing.configure(Map.of("OTEL_PROPAGATORS", "tracecontext,b3multi"), Map.of())) {
      assertThat(t.inject(REMOTE)).containsKeys("traceparent", "X-B3-TraceId");
    }
  }

  @Test
  void anOtlpEndpointTurnsRecordingOnAndNoneTurnsItOff() {
    try (Tracing t = Tracing.configure(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"), Map.of())) {
      assertThat(t.recording()).isTrue();
      Span s = t.tracer().spanBuilder("x").setParent(REMOTE).startSpan();
      assertThat(s.isRecording()).isTrue();
      assertThat(s.getSpanContext().getTraceId()).isEqualTo(TRACE);
      assertThat(s.getSpanContext().getSpanId()).isNotEqualTo(SPAN);

    }
    try (Tracing t = Tracing.configure(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER", "none"),
        Map.of())) {
      assertThat(t.recording()).isFalse();
    }
  }

  @Test
  void aTraceparentRoundTripsThroughAKafkaHeader() {
    String tp = "00-" + TRACE + "-" + SPAN + "-01";
    Context c = Tracing.fromTraceparent(tp);
    assertThat(Tracing.traceparent(Span.fromContext(c).getSpanContext())).isEqualTo(tp);
    assertThat(Tracing.traceparent(Span.fromContext(Tracing.fromTraceparent(null)).getSpanContext())).isNull();
  }
}
