package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.ACME_READER_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad input gets a clear JSON error, loses nothing and leaks nothing; the process stays up. */
class BadInputIT {
  static FunctionServer fn;
  static Conveyor gateway;
  static Http http;

  @BeforeAll
  static void start() {
    fn = new FunctionServer();
    gateway = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("bad"),
        "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", null));
    http = new Http(gateway.httpPort());
  }

  @AfterAll
  static void stop() {
    if (gateway != null) gateway.close();
    if (fn != null) fn.close();
  }

  @AfterEach
  void theGatewayStillServes() {
    assertThat(new Http(gateway.adminPort()).get("/healthz", null).statusCode()).isEqualTo(200);
    assertThat(http.invoke(ACME_KEY, "acme", "echo", "{}").statusCode()).isEqualTo(202);
  }

  private static JsonObject error(HttpResponse<String> r, int status, String code) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("content-type")).contains("application/json");
    assertThat(r.body()).doesNotContain("Exception", "\tat ", ACME_KEY, "secret-payload");
    JsonObject e = new JsonObject(r.body());
    assertThat(e.getString("error")).isEqualTo(code);
    assertThat(e.getString("message")).isNotBlank();
    return e;
  }

  private static HttpRequest.Builder invoke(String path, String key) {
    return http.request(path, key).POST(HttpRequest.BodyPublishers.ofString("secret-payload"));
  }

  @Test
  void aMissingOrWrongCredentialIs401() {
    HttpResponse<String> none = http.send(invoke("/v1/namespaces/acme/functions/echo/invocations", null).build());
    error(none, 401, "unauthenticated");
    assertThat(none.headers().firstValue("www-authenticate")).contains("Bearer");
    error(http.send(invoke("/v1/namespaces/acme/functions/echo/invocations", "not-a-key").build()), 401, "unauthenticated");
    error(http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", null)
        .header("authorization", "Basic YWNtZTprZXk=").POST(HttpRequest.BodyPublishers.noBody()).build()), 401, "unauthenticated");
    error(http.get("/v1/invocations/2f1c0000-0000-4000-8000-000000000000", "wrong"), 401, "unauthenticated");
  }

  @Test
  void aNamespaceTheKeyDoesNotOwnOrARoleItLacksIs403() {
    error(http.send(invoke("/v1/namespaces/globex/functions/echo/invocations", ACME_KEY).build()), 403, "namespace_forbidden");
    error(http.send(invoke("/v1/namespaces/acme/functions/echo/invocations", ACME_READER_KEY).build()), 403, "missing_role");
  }

  @Test
  void anUnknownFunctionIs404AtAcceptTime() {
    error(http.send(invoke("/v1/namespaces/acme/functions/nope/invocations", ACME_KEY).build()), 404, "function_not_found");
    error(http.send(invoke("/v1/namespaces/acme-staging/functions/echo/invocations", ACME_KEY).build()), 404, "function_not_found");
    error(http.get("/v1/invocations/2f1c0000-0000-4000-8000-000000000000", ACME_KEY), 404, "invocation_not_found");
    error(http.get("/v1/nothing/here", ACME_KEY), 404, "not_found");
  }

  @Test
  void anOversizedPayloadIs413() {
    byte[] big = new byte[65_537];
    error(http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .POST(HttpRequest.BodyPublishers.ofByteArray(big)).build()), 413, "payload_too_large");
    byte[] huge = new byte[3 * 1024 * 1024];
    error(http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .POST(HttpRequest.BodyPublishers.ofByteArray(huge)).build()), 413, "payload_too_large");
  }

  @Test
  void malformedNamesKeysAndIdsAre400() {
    error(http.send(invoke("/v1/namespaces/ACME_/functions/echo/invocations", ACME_KEY).build()), 400, "invalid_name");
    error(http.send(invoke("/v1/namespaces/acme/functions/" + "x".repeat(64) + "/invocations", ACME_KEY).build()), 400, "invalid_name");
    error(http.send(invoke("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .header("idempotency-key", "x".repeat(300)).build()), 400, "invalid_idempotency_key");
    error(http.get("/v1/invocations/garbage", ACME_KEY), 400, "invalid_id");
    error(http.get("/v1/invocations/" + "a".repeat(2000), ACME_KEY), 400, "invalid_id");
    error(http.get("/v1/invocations/%2e%2e%2f%2e%2e%2fetc%2fpasswd", ACME_KEY), 400, "invalid_id");
    error(http.get("/v1/invocations/%FF%FE", ACME_KEY), 400, "invalid_id");
  }

  @Test
  void aWrongMethodIs405() {
    error(http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY).PUT(HttpRequest.BodyPublishers.noBody()).build()),
        405, "method_not_allowed");
  }

  @Test
  void garbageOnTheWireAndHugeHeadersAreRefusedWithoutHarm() throws Exception {
    assertThat(raw("GARBAGE \u0001\u0002 nonsense\r\n\r\n")).matches("(?s)HTTP/1\\.[01] 400.*");
    String hugeHeader = "POST /v1/namespaces/acme/functions/echo/invocations HTTP/1.1\r\nHost: x\r\nX-Big: "
        + "a".repeat(40_000) + "\r\nContent-Length: 0\r\n\r\n";
    assertThat(raw(hugeHeader)).startsWith("HTTP/1.1 431");
    String badLength = "POST /v1/namespaces/acme/functions/echo/invocations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + ACME_KEY + "\r\nContent-Length: abc\r\n\r\n";
    assertThat(raw(badLength)).startsWith("HTTP/1.1 400");
  }

  private static String raw(String request) throws Exception {
    try (Socket s = new Socket("127.0.0.1", gateway.httpPort())) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[512];
      int n = in.read(buf);
      return n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * Thousands of tenants' worth of random API keys and bearer tokens: each is a 401, and nothing
   * is kept per credential (no meter, bucket or cache entry), so what the gateway holds does not
   * grow with them.
   */
  @Test
  void aFloodOfRandomKeysIsRefusedAndLeavesNothingBehindPerKey() {
    Http admin = new Http(gateway.adminPort());
    http.invoke("warm-" + UUID.randomUUID(), "acme", "echo", "{}"); // the 401 meters exist from here on
    // The other tests' invocations ended (their delivery meters exist): what comes next is this test's.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> admin.get("/metrics", null).body()
        .lines().filter(l -> l.startsWith("conveyor_queued{")).allMatch(l -> l.endsWith(" 0.0")));
    java.util.Set<String> before = names(admin.get("/metrics", null).body());
    java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all = new java.util.ArrayList<>();
    java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(32);
    for (int i = 0; i < 4000; i++) {
      String credential = "Bearer " + (i % 2 == 0 ? UUID.randomUUID().toString()
          : "eyJhbGciOiJSUzI1NiJ9." + UUID.randomUUID() + "." + UUID.randomUUID());
      HttpRequest.Builder req = http.request("/v1/namespaces/t" + i + "/functions/echo/invocations", null)
          .POST(HttpRequest.BodyPublishers.ofString("{}"));
      req.header("authorization", credential);
      window.acquireUninterruptibly();
      all.add(http.sendAsync(req.build()).whenComplete((r, e) -> window.release()));
    }
    for (var f : all) {
      HttpResponse<String> r = f.join();
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.body()).doesNotContain("eyJ", "Exception");
    }
    java.util.Set<String> after = names(admin.get("/metrics", null).body());
    after.removeAll(before);
    assertThat(after).as("new series after 4,000 distinct credentials").hasSizeLessThan(20);
  }

  /**
   * The series of a scrape (each sample line without its value), but the Kafka clients' own: those
   * come as the clients' partitions and Kafka Streams' tasks are assigned, which on a loaded machine
   * can still be under way seconds after the gateway is ready (some 230 lines), whatever the requests.
   */
  private static java.util.Set<String> names(String scrape) {
    java.util.Set<String> out = new java.util.TreeSet<>();
    for (String line : scrape.split("\n")) {
      if (!line.startsWith("#") && !line.startsWith("kafka_") && line.contains(" ")) out.add(line.substring(0, line.lastIndexOf(' ')));
    }
    return out;
  }
}
