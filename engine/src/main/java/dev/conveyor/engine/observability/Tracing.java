package dev.conveyor.engine.observability;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.baggage.propagation.W3CBaggagePropagator;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.extension.trace.propagation.B3Propagator;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenTelemetry for the gateway, configured the standard way ({@code OTEL_*} environment variables
 * or {@code otel.*} system properties, read by the SDK's autoconfigure module; OTLP export).
 * Tracing is on when an exporter is configured ({@code OTEL_TRACES_EXPORTER} other than
 * {@code none}, or an OTLP endpoint). Otherwise the API's no-op tracer is used, which only carries
 * the caller's context along: spans cost nothing, and the trace ids Conveyor hands out are its own.
 * The propagators ({@code OTEL_PROPAGATORS}: {@code tracecontext}, {@code baggage}, {@code b3},
 * {@code b3multi}) apply to the HTTP edges; inside Kafka records the context is always W3C.
 */
public final class Tracing implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Tracing.class);
  private static final String SCOPE = "dev.conveyor.engine";
  private static final IdGenerator IDS = IdGenerator.random();

  private final OpenTelemetry otel;
  private final OpenTelemetrySdk sdk;
  private final Tracer tracer;
  private final boolean recording;

  private Tracing(OpenTelemetry otel, OpenTelemetrySdk sdk) {
    this.otel = otel;
    this.sdk = sdk;
    this.tracer = otel.getTracer(SCOPE);
    this.recording = sdk != null;
  }

  /** No export, W3C propagation: what tests and tools get unless they ask for more. */
  public static Tracing off() {
    return new Tracing(OpenTelemetry.propagating(ContextPropagators.create(W3CTraceContextPropagator.getInstance())), null);
  }

  /**
   * Spans recorded as with an exporter, then dropped: the warm-up's, which must exercise the
   * recording path and never reach the operator's trace backend.
   */
  public static Tracing discarding() {
    OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
        .setTracerProvider(io.opentelemetry.sdk.trace.SdkTracerProvider.builder().build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
    return new Tracing(sdk, sdk);
  }

  /**
   * @param overrides {@code otel.*} properties that win over the environment (tests pass their
   *     receiver's endpoint here); the environment and system properties are read as usual
   */
  public static Tracing configure(Map<String, String> environment, Map<String, String> overrides) {
    Map<String, String> effective = new HashMap<>();
    environment.forEach((k, v) -> {
      if (k.startsWith("OTEL_")) effective.put(k.toLowerCase(Locale.ROOT).replace('_', '.'), v);
    });
    System.getProperties().forEach((k, v) -> {
      if (k.toString().startsWith("otel.")) effective.put(k.toString(), v.toString());
    });
    effective.putAll(overrides);
    String exporter = effective.getOrDefault("otel.traces.exporter", "");
    boolean endpoint = effective.containsKey("otel.exporter.otlp.endpoint") || effective.containsKey("otel.exporter.otlp.traces.endpoint");
    boolean disabled = "true".equalsIgnoreCase(effective.get("otel.sdk.disabled"));
    if (disabled || exporter.equals("none") || (exporter.isEmpty() && !endpoint)) {
      return new Tracing(OpenTelemetry.propagating(ContextPropagators.create(propagator(effective.get("otel.propagators")))), null);
    }
    OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
        .addPropertiesSupplier(() -> Map.of(
            "otel.service.name", "conveyor",
            // The exporter sends over the JDK's HttpClient, which speaks OTLP over HTTP (port 4318), not gRPC.
            "otel.exporter.otlp.protocol", "http/protobuf",
            "otel.metrics.exporter", "none", // metrics are Micrometer's (Prometheus)
            "otel.logs.exporter", "none"))   // logs are JSON lines on stdout
        .addPropertiesCustomizer(props -> overrides)
        .disableShutdownHook()
        .build()
        .getOpenTelemetrySdk();
    LOG.info("tracing on: exporting spans ({})", exporter.isEmpty() ? "otlp" : exporter);
    return new Tracing(sdk, sdk);
  }

  /** The propagators {@code OTEL_PROPAGATORS} names, for the no-op case (autoconfigure does the same). */
  static TextMapPropagator propagator(String names) {
    if (names == null || names.isBlank()) names = "tracecontext,baggage";
    List<TextMapPropagator> out = new ArrayList<>();
    for (String n : names.split(",")) {
      switch (n.trim()) {
        case "tracecontext" -> out.add(W3CTraceContextPropagator.getInstance());
        case "baggage" -> out.add(W3CBaggagePropagator.getInstance());
        case "b3" -> out.add(B3Propagator.injectingSingleHeader());
        case "b3multi" -> out.add(B3Propagator.injectingMultiHeaders());
        case "none", "" -> { }
        default -> LOG.warn("unknown propagator '{}' in OTEL_PROPAGATORS: ignored", n.trim());
      }
    }
    return TextMapPropagator.composite(out);
  }

  public Tracer tracer() {
    return tracer;
  }

  /** Whether spans are recorded and exported. */
  public boolean recording() {
    return recording;
  }

  /** The context a caller sent, through the configured propagators. */
  public Context extract(Function<String, String> header, Iterable<String> names) {
    return otel.getPropagators().getTextMapPropagator().extract(Context.root(), header, new TextMapGetter<>() {
      @Override
      public Iterable<String> keys(Function<String, String> carrier) {
        return names;
      }

      @Override
      public String get(Function<String, String> carrier, String key) {
        return carrier == null ? null : carrier.apply(key);
      }
    });
  }

  /** Headers that carry {@code context} to a function, through the configured propagators. */
  public Map<String, String> inject(Context context) {
    Map<String, String> out = new HashMap<>(4);
    otel.getPropagators().getTextMapPropagator().inject(context, out, (m, k, v) -> m.put(k, v));
    return out;
  }

  /** The W3C {@code traceparent} of a span, or null when it has no valid context (no-op, no caller context). */
  public static String traceparent(SpanContext sc) {
    if (!sc.isValid()) return null;
    return "00-" + sc.getTraceId() + "-" + sc.getSpanId() + "-" + sc.getTraceFlags().asHex();
  }

  /**
   * A W3C {@code traceparent} of Conveyor's own, for invocations that have no span to take it from
   * (tracing off): in the caller's trace when it sent one, else in a new trace (the SDK's id generator).
   */
  public static String mint(String callerTraceId) {
    String traceId = callerTraceId != null ? callerTraceId : IDS.generateTraceId();
    return "00-" + traceId + "-" + IDS.generateSpanId() + "-01";
  }

  /** The context a W3C {@code traceparent} stored in a Kafka record names. */
  public static Context fromTraceparent(String traceparent) {
    if (traceparent == null) return Context.root();
    return W3CTraceContextPropagator.getInstance().extract(Context.root(), traceparent,
        new TextMapGetter<String>() {
          @Override
          public Iterable<String> keys(String carrier) {
            return List.of("traceparent");
          }

          @Override
          public String get(String carrier, String key) {
            return "traceparent".equals(key) ? carrier : null;
          }
        });
  }

  /** Flushes what is buffered and stops the exporter. */
  @Override
  public void close() {
    if (sdk != null) sdk.shutdown().join(5, TimeUnit.SECONDS);
  }
}
