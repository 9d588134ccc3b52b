package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.GLOBEX_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.OpenApiDocument;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.validation.ResponseValidator;
import io.vertx.openapi.validation.ValidatableResponse;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the gateway answers is what docs/openapi.yaml says: real answers (202, status, result, cancel,
 * sync, 400, 401, 404, 413, 429, the admin port's) validated with vertx-openapi's ResponseValidator.
 * Requests are not validated by the gateway: the document only describes them.
 */
@Beside
class OpenApiResponsesIT {
  static FunctionServer fn;
  static Conveyor gateway;
  static Http http;
  static Vertx vertx;
  static JsonObject doc;
  static ResponseValidator validator;

  @BeforeAll
  static void start() {
    fn = new FunctionServer().behave(call -> call.path().equals("/slow") ? new Answer(200, 5_000, null) : Answer.ok());
    String functions = """
        - { namespace: acme, name: echo, url: "%s" }
        - { namespace: acme, name: slow, url: "%s", delivery: { timeout: PT60S } }
        - { namespace: globex, name: echo, url: "%s" }
        """.formatted(fn.url("/echo"), fn.url("/slow"), fn.url("/echo"));
    String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("openapi"), functions, null)
        .replace("namespaces: [globex]", "namespaces: [globex]\n    limits: { ratePerSecond: 1, burst: 1 }");
    gateway = Gateways.start(yaml);
    http = new Http(gateway.httpPort());
    vertx = Vertx.vertx();
    doc = OpenApiDocument.load();
    OpenAPIContract contract = OpenApiDocument.contract(vertx, doc);
    validator = ResponseValidator.create(vertx, contract);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) gateway.close();
    if (fn != null) fn.close();
    if (vertx != null) vertx.close().await();
  }

  @Test
  void anAcceptedInvocationItsStatusAndItsResult() {
    HttpResponse<String> accepted = http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .header("content-type", "application/json").header("idempotency-key", "openapi-" + System.nanoTime())
        .POST(HttpRequest.BodyPublishers.ofString("{\"hello\":\"world\"}")).build());
    valid("acceptInvocation", accepted, 202);
    String id = new JsonObject(accepted.body()).getString("id");

    await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(http.status(id, ACME_KEY).getString("status")));
    valid("getInvocation", http.get("/v1/invocations/" + id, ACME_KEY), 200);
    HttpResponse<String> result = valid("getInvocationResult", http.get("/v1/invocations/" + id + "/result", ACME_KEY), 200);
    assertThat(result.body()).isEqualTo("{\"hello\":\"world\"}");
    valid("cancelInvocation", http.send(http.request("/v1/invocations/" + id, ACME_KEY).DELETE().build()), 409);
  }

  @Test
  void anUnfinishedResultAndACancel() {
    HttpResponse<String> accepted = valid("acceptInvocation", http.invoke(ACME_KEY, "acme", "slow", "{}"), 202);
    String id = new JsonObject(accepted.body()).getString("id");
    // The function holds the call 5 s: the invocation is not finished until it is cancelled.
    valid("getInvocationResult", http.get("/v1/invocations/" + id + "/result", ACME_KEY), 202);
    HttpResponse<String> cancelled = valid("cancelInvocation", http.send(http.request("/v1/invocations/" + id, ACME_KEY).DELETE().build()), 200);
    assertThat(new JsonObject(cancelled.body()).getString("status")).isEqualTo("cancelled");
  }

  @Test
  void aSyncCallAndTheOpenFaasForm() {
    HttpResponse<String> sync = valid("invokeSync", http.send(http.request("/v1/namespaces/acme/functions/echo", ACME_KEY)
        .header("content-type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("hi")).build()), 200);
    assertThat(sync.body()).isEqualTo("hi");
    valid("invokeSync", http.send(http.request("/v1/namespaces/acme/functions/echo", ACME_KEY).header("prefer", "respond-async")
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build()), 202);
    valid("acceptOpenFaas", http.send(http.request("/async-function/echo", ACME_KEY).POST(HttpRequest.BodyPublishers.ofString("{}")).build()), 202);
  }

  @Test
  void refusals() {
    valid("getInvocation", http.get("/v1/invocations/2f1c0000-0000-4000-8000-000000000000", ACME_KEY), 404);
    valid("getInvocation", http.get("/v1/invocations/garbage", ACME_KEY), 400);
    valid("getInvocation", http.get("/v1/invocations/2f1c0000-0000-4000-8000-000000000000", null), 401);
    valid("acceptInvocation", http.invoke(ACME_KEY, "globex", "echo", "{}"), 403);
    valid("acceptInvocation", http.invoke(ACME_KEY, "acme", "nope", "{}"), 404);
    valid("acceptInvocation", http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[65_537])).build()), 413);
    valid("getUsage", http.get("/v1/usage?from=yesterday", ACME_KEY), 400);
    valid("listDeadLetters", http.get("/v1/deadletters?limit=0", Gateways.ACME_ADMIN_KEY), 400);
    valid("getUsage", http.get("/v1/usage?groupBy=function", ACME_KEY), 200);
    valid("listDeadLetters", http.get("/v1/deadletters", Gateways.ACME_ADMIN_KEY), 200);
  }

  @Test
  void overTheRateIs429WithRetryAfter() {
    // globex may send 1 a second with a burst of 1: of a few sent at once, one at least is refused.
    HttpResponse<String> refused = null;
    for (int i = 0; i < 5 && refused == null; i++) {
      HttpResponse<String> r = http.invoke(GLOBEX_KEY, "globex", "echo", "{}");
      if (r.statusCode() == 429) refused = r;
      else valid("acceptInvocation", r, 202);
    }
    assertThat(refused).as("a 429 among 5 invocations at once, over 1 a second").isNotNull();
    valid("acceptInvocation", refused, 429);
    assertThat(new JsonObject(refused.body()).getString("error")).isEqualTo("rate_limited");
  }

  @Test
  void theAdminPort() throws Exception {
    Http admin = new Http(gateway.adminPort());
    valid("healthz", admin.get("/healthz", null), 200);
    valid("readyz", admin.get("/readyz", null), 200);
    valid("metrics", admin.get("/metrics", null), 200);
    // Only the families named: a counter with its _total, a gauge as it is.
    HttpResponse<String> some = valid("metrics", admin.get("/metrics?name%5B%5D=conveyor_invocations_accepted_total&name%5B%5D=conveyor_ready", null), 200);
    assertThat(some.body().lines().filter(l -> !l.startsWith("#")))
        .isNotEmpty()
        .allSatisfy(l -> assertThat(l).matches("(conveyor_invocations_accepted_total|conveyor_ready)[{ ].*"))
        .anySatisfy(l -> assertThat(l).startsWith("conveyor_ready"));
    HttpResponse<String> served = valid("openapi", admin.get("/openapi.yaml", null), 200);
    assertThat(served.body()).isEqualTo(Files.readString(Path.of("..", "docs", "openapi.yaml")));
  }

  @Test
  void anAnswerTheDocumentDoesNotDescribeFailsValidation() {
    assertThatThrownBy(() -> validate("getInvocation", 404, Map.of("content-type", "application/json"),
        "{\"error\":\"no_such_code\",\"message\":\"m\"}")).hasMessageContaining("does not match any of");
    assertThatThrownBy(() -> validate("acceptInvocation", 429, Map.of("content-type", "application/json"),
        "{\"error\":\"rate_limited\",\"message\":\"m\"}")).isNotNull(); // no Retry-After
    assertThatThrownBy(() -> validate("getInvocation", 200, Map.of("content-type", "application/json"), "{\"id\":\"x\"}"))
        .isNotNull();
  }

  /** Validates a real answer against the operation, after checking it has the expected status. */
  private static HttpResponse<String> valid(String operationId, HttpResponse<String> r, int status) {
    assertThat(r.statusCode()).as(operationId + ": " + r.body()).isEqualTo(status);
    Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    r.headers().map().forEach((k, v) -> {
      if (!v.isEmpty()) headers.put(k, v.get(0));
    });
    try {
      validate(operationId, r.statusCode(), headers, r.body());
    } catch (Exception e) {
      throw new AssertionError(operationId + " answered " + r.statusCode() + " " + headers + " " + r.body()
          + ", which the document does not describe: " + e.getMessage(), e);
    }
    return r;
  }

  private static void validate(String operationId, int status, Map<String, String> headers, String body) throws Exception {
    Map<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    h.putAll(headers);
    String contentType = contentTypeToValidate(operationId, status, h.get("content-type"));
    try {
      validator.validate(ValidatableResponse.create(status, h, body == null || body.isEmpty() ? null : Buffer.buffer(body), contentType),
          operationId).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception c ? c : e;
    }
  }

  /**
   * The content type to validate the body as: the answer's own, unless the document declares this
   * answer as any type ({@code *}{@code /*}) or as one vertx-openapi 5.0 does not know: then the body is
   * validated as the text it stands for there ({@link OpenApiDocument#forVertxOpenApi}); parameters of the
   * type (charset, version) left out.
   */
  private static String contentTypeToValidate(String operationId, int status, String actual) {
    JsonObject response = null;
    JsonObject paths = doc.getJsonObject("paths");
    for (String p : paths.fieldNames()) {
      for (String m : paths.getJsonObject(p).fieldNames()) {
        Object op = paths.getJsonObject(p).getValue(m);
        if (op instanceof JsonObject o && operationId.equals(o.getString("operationId"))) {
          JsonObject responses = o.getJsonObject("responses");
          response = responses.getJsonObject(Integer.toString(status), responses.getJsonObject("default"));
        }
      }
    }
    if (response == null || actual == null) return actual;
    if (response.containsKey("$ref")) {
      response = doc.getJsonObject("components").getJsonObject("responses").getJsonObject(response.getString("$ref").replace("#/components/responses/", ""));
    }
    JsonObject content = response.getJsonObject("content");
    if (content == null) return actual;
    String base = actual.split(";")[0].trim();
    if (content.containsKey(base) && io.vertx.openapi.contract.MediaType.isMediaTypeSupported(base)) return base;
    if (content.containsKey("*/*") || content.fieldNames().stream().anyMatch(t -> !io.vertx.openapi.contract.MediaType.isMediaTypeSupported(t))) {
      return OpenApiDocument.ANY;
    }
    return actual;
  }
}
