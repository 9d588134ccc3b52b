package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.KnativeFixtures;
import dev.conveyor.engine.testing.LogCapture;
import dev.conveyor.engine.testing.OtlpReceiver;
import dev.conveyor.engine.testing.TestKafka;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import org.junit.jupiter.api.Test;

/**
 * Traces as docs/observability.md ("Tracing") names them, received by an OTLP/HTTP endpoint in the test (protobuf decoded
 * with the OpenTelemetry proto classes), for an invocation of a Knative function whose revision is
 * scaled to zero: the local "revision" holds the first answer 700 ms as the Activator does while a
 * pod starts, and reports 100 ms of its own work in Server-Timing.
 */
@EnableKubernetesMockClient(crud = true)
class TracingIT {
  static KubernetesClient client;
  private static final String CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String CALLER_SPAN = "00f067aa0ba902b7";

  @Test
  void anAsyncInvocationIsOneTraceFromTheCallerToTheFunctionWithTheColdStartAsItsOwnSpan() throws Exception {
    OtlpReceiver otlp = new OtlpReceiver();
    Queue<Span> spans = otlp.spans();
    try (FunctionServer revision = new FunctionServer().behave(c -> new Answer(200, 700, null, null, "app;dur=100"))) {
      KnativeFixtures k = new KnativeFixtures(client, "acme");
      k.service("cold", revision.url("/cold"), "cold-00001", Map.of());
      k.revision("cold-00001", 0, "256Mi");
      String prefix = Gateways.prefix("tracing");
      Map<String, String> otel = otlp.otel();
      try (Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), prefix, "[]",
          "knative: { enabled: true, namespaces: [acme] }"), client, otel)) {
        Http http = new Http(gw.httpPort());
        String id = new JsonObject(http.send(http.request("/v1/namespaces/acme/functions/cold/invocations", ACME_KEY)
            .header("traceparent", "00-" + CALLER_TRACE + "-" + CALLER_SPAN + "-01")
            .POST(HttpRequest.BodyPublishers.ofString("{}")).build()).body()).getString("id");
        await().atMost(Duration.ofSeconds(20)).until(() -> "succeeded".equals(http.status(id, ACME_KEY).getString("status")));

        // Spans are exported in batches as they end (the process span ends last, after the final status).
        List<String> names = List.of("POST /v1/namespaces/:ns/functions/:fn/invocations", "send " + prefix + "invocations",
            "process " + prefix + "invocations", "invoke cold", "cold start cold");
        await().atMost(Duration.ofSeconds(20)).until(() -> names.stream().allMatch(n -> named(spans, n).isPresent()));
        Span server = named(spans, "POST /v1/namespaces/:ns/functions/:fn/invocations").orElseThrow();
        Span send = named(spans, "send " + prefix + "invocations").orElseThrow();
        Span process = named(spans, "process " + prefix + "invocations").orElseThrow();
        Span invoke = named(spans, "invoke cold").orElseThrow();
        Span cold = named(spans, "cold start cold").orElseThrow();

        for (Span s : List.of(server, send, process, invoke, cold)) assertThat(hex(s.getTraceId())).as(s.getName()).isEqualTo(CALLER_TRACE);
        assertThat(hex(server.getParentSpanId())).isEqualTo(CALLER_SPAN);
        assertThat(server.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
        assertThat(send.getParentSpanId()).isEqualTo(server.getSpanId());
        assertThat(send.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_PRODUCER);
        assertThat(process.getParentSpanId()).isEqualTo(send.getSpanId());
        assertThat(process.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CONSUMER);
        assertThat(process.getLinksList()).as("linked to the producer").anyMatch(l -> l.getSpanId().equals(send.getSpanId()));
        assertThat(invoke.getParentSpanId()).isEqualTo(process.getSpanId());
        assertThat(invoke.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_CLIENT);
        assertThat(attr(invoke, "faas.invoked_name")).isEqualTo("cold");
        assertThat(attr(invoke, "faas.invoked_provider")).isEqualTo("knative");
        assertThat(attr(invoke, "faas.invocation_id")).isEqualTo(id);
        assertThat(attr(invoke, "faas.coldstart")).isEqualTo("true");
        assertThat(cold.getParentSpanId()).isEqualTo(invoke.getSpanId());

        // The function got the attempt span's context.
        String traceparent = revision.calls().get(0).headers().get("traceparent");
        assertThat(traceparent).isEqualTo("00-" + CALLER_TRACE + "-" + hex(invoke.getSpanId()) + "-01");

        // The cold start is the wait to the first byte minus the function's own 100 ms: about 600 ms.
        long coldNanos = cold.getEndTimeUnixNano() - cold.getStartTimeUnixNano();
        assertThat(coldNanos / 1_000_000).isBetween(550L, 1500L);
        JsonObject usage = AsyncInvocationIT.usageRecords(gw, u -> u.getJsonObject("data").getString("invocationId").equals(id), 1)
            .get(0).getJsonObject("data");
        assertThat(usage.getBoolean("coldStart")).isTrue();
        assertThat(usage.getLong("coldStartMs")).isBetween(550L, 1500L).isEqualTo(coldNanos / 1_000_000);
        assertThat(usage.getString("traceId")).isEqualTo(CALLER_TRACE);
        JsonObject status = http.status(id, ACME_KEY);
        assertThat(status.getBoolean("coldStart")).isTrue();
        assertThat(status.getLong("coldStartMs")).isEqualTo(usage.getLong("coldStartMs"));
        assertThat(status.getJsonArray("history").getJsonObject(0).getLong("coldStartMs")).isEqualTo(usage.getLong("coldStartMs"));
        assertThat(new Http(gw.adminPort()).get("/metrics", null).body())
            .contains("conveyor_cold_starts_total{k8s_namespace_name=\"acme\",kn_revision_name=\"cold-00001\",kn_service_name=\"cold\",tenant=\"acme\"} 1.0")
            .contains("conveyor_cold_start_duration_seconds_count{")
            .as("the Kafka clients' own metrics").contains("kafka_producer_record_send_total").contains("kafka_consumer_fetch_manager_records_lag");
      }
    } finally {
      otlp.close();
    }
  }

  @Test
  void aLogLineAboutAnInvocationCarriesItsTraceAndSpanIds() throws Exception {
    try (LogCapture captured = new LogCapture();
         FunctionServer fn = new FunctionServer().behave(c -> new Answer(400, 0, "{\"error\":\"bad order\"}"));
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("logs"),
             "- { namespace: acme, name: bad, url: \"" + fn.url("/bad") + "\" }", null))) {
      Http http = new Http(gw.httpPort());
      String id = new JsonObject(http.send(http.request("/v1/namespaces/acme/functions/bad/invocations", ACME_KEY)
          .header("traceparent", "00-" + CALLER_TRACE + "-" + CALLER_SPAN + "-01")
          .POST(HttpRequest.BodyPublishers.ofString("{}")).build()).body()).getString("id");
      await().atMost(Duration.ofSeconds(20)).until(() -> "failed".equals(http.status(id, ACME_KEY).getString("status")));
      await().atMost(Duration.ofSeconds(5)).until(() -> captured.text().contains(id));
      JsonObject line = captured.lines().stream().filter(j -> id.equals(j.getString("invocation_id"))).findFirst().orElseThrow();
      assertThat(line.getString("level")).isEqualTo("INFO");
      assertThat(line.getString("message")).contains("dead-lettered");
      assertThat(line.getString("trace_id")).isEqualTo(CALLER_TRACE);
      assertThat(line.getString("span_id")).matches("[0-9a-f]{16}");
      assertThat(line.getString("tenant")).isEqualTo("acme");
      assertThat(fn.calls().get(0).headers().get("traceparent")).startsWith("00-" + CALLER_TRACE + "-");
    }
  }

  private static Optional<Span> named(Queue<Span> spans, String name) {
    return spans.stream().filter(s -> s.getName().equals(name)).findFirst();
  }

  private static String hex(com.google.protobuf.ByteString b) {
    return HexFormat.of().formatHex(b.toByteArray());
  }

  private static String attr(Span s, String key) {
    for (KeyValue kv : s.getAttributesList()) {
      if (kv.getKey().equals(key)) {
        var v = kv.getValue();
        return v.hasStringValue() ? v.getStringValue() : v.hasBoolValue() ? Boolean.toString(v.getBoolValue())
            : v.hasIntValue() ? Long.toString(v.getIntValue()) : v.toString();
      }
    }
    return null;
  }


}
