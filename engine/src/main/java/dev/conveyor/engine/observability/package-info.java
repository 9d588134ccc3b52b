/**
 * Metrics, traces and logs. {@link Metrics} holds every documented meter with Knative-style labels in a
 * Prometheus registry, plus JVM, Kafka client and Kafka Streams metrics; {@link Tracing} is OpenTelemetry
 * configured from the standard {@code OTEL_*} settings (a no-op tracer when no exporter is set);
 * {@link Logs} puts an invocation's fields in the MDC around a log call; {@link ColdStarts} works out how
 * long a cold attempt waited for its revision to scale from zero.
 *
 * <p>May use: {@code api}, {@code invoke} ({@code AttemptResult}), and {@code dev.conveyor.connector.spi}
 * (the connectors' metrics interface). Built on Micrometer (Prometheus), the OpenTelemetry SDK with
 * autoconfigure and B3 propagation, and SLF4J.
 */
package dev.conveyor.engine.observability;
