package dev.conveyor.engine.testing;

import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.trace.v1.Span;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/** An OTLP/HTTP traces endpoint on loopback (protobuf, decoded with the OpenTelemetry proto classes) keeping every span. */
public final class OtlpReceiver implements AutoCloseable {
  private final Vertx vertx = Vertx.vertx();
  private final Queue<Span> spans = new ConcurrentLinkedQueue<>();
  private final HttpServer server;

  public OtlpReceiver() {
    try {
      server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
        try {
          ExportTraceServiceRequest export = ExportTraceServiceRequest.parseFrom(body.getBytes());
          export.getResourceSpansList().forEach(rs -> rs.getScopeSpansList().forEach(ss -> spans.addAll(ss.getSpansList())));
          req.response().putHeader("content-type", "application/x-protobuf")
              .end(Buffer.buffer(ExportTraceServiceResponse.getDefaultInstance().toByteArray()));
        } catch (Exception e) {
          req.response().setStatusCode(400).end();
        }
      })).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The {@code otel.*} properties that send a gateway's spans here, in batches every 100 ms. */
  public Map<String, String> otel() {
    return Map.of("otel.traces.exporter", "otlp", "otel.exporter.otlp.protocol", "http/protobuf",
        "otel.exporter.otlp.traces.endpoint", "http://127.0.0.1:" + server.actualPort() + "/v1/traces",
        "otel.bsp.schedule.delay", "100");
  }

  public Queue<Span> spans() {
    return spans;
  }

  public Optional<Span> named(String name) {
    return spans.stream().filter(s -> s.getName().equals(name)).findFirst();
  }

  public List<Span> all(String name) {
    return spans.stream().filter(s -> s.getName().equals(name)).toList();
  }

  @Override
  public void close() {
    vertx.close();
  }
}
