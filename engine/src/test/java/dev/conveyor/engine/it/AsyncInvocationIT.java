package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.GLOBEX_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The async path end to end on a real KRaft broker and real HTTP functions on loopback. */
@Beside
class AsyncInvocationIT {
  static FunctionServer fn;
  static Conveyor gateway;
  static Http http;
  static final Map<String, AtomicInteger> failuresLeft = new ConcurrentHashMap<>();

  @BeforeAll
  static void start() {
    fn = new FunctionServer().behave(call -> switch (call.path()) {
      case "/bad" -> new Answer(400, 0, "{\"error\":\"bad input\"}");
      case "/unavailable" -> new Answer(503, 0, "busy", "30"); // Retry-After: the retry waits, jitter or not
      case "/big" -> new Answer(200, 0, "x".repeat(3 * 1024 * 1024));
      case "/slow" -> new Answer(200, 1500, null);
      case "/fail-twice" -> failuresLeft.computeIfAbsent(call.invocationId(), k -> new AtomicInteger(2))
          .getAndDecrement() > 0 ? new Answer(500, 0, "boom") : new Answer(200, 0, "{\"ok\":true}");
      default -> Answer.ok();
    });
    String functions = """
        - { namespace: acme, name: echo, url: "%s", memoryMiB: 256 }
        - { namespace: acme, name: bad, url: "%s" }
        - { namespace: acme, name: fail-twice, url: "%s", delivery: { retry: 3, backoffDelay: PT0.01S } }
        - { namespace: acme, name: unavailable, url: "%s", delivery: { retry: 5, backoffDelay: PT30S } }
        - { namespace: globex, name: echo, url: "%s" }
        - { namespace: acme, name: big, url: "%s" }
        - { namespace: acme, name: slow, url: "%s", delivery: { retry: 1, backoffDelay: PT0.01S, timeout: PT0.2S } }
        - { namespace: acme, name: aging, url: "%s", delivery: { retry: 50, backoffPolicy: linear, backoffDelay: PT0.3S, backoffMax: PT0.3S, maxEventAge: PT2S } }
        """.formatted(fn.url("/echo"), fn.url("/bad"), fn.url("/fail-twice"), fn.url("/unavailable"), fn.url("/echo"),
        fn.url("/big"), fn.url("/slow"), fn.url("/unavailable"));
    gateway = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("async"), functions, null));
    http = new Http(gateway.httpPort());
  }

  @AfterAll
  static void stop() {
    if (gateway != null) gateway.close();
    if (fn != null) fn.close();
  }

  private static JsonObject awaitStatus(String id, String status) {
    JsonObject[] last = new JsonObject[1];
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      last[0] = http.status(id, ACME_KEY);
      assertThat(last[0].getString("status")).isEqualTo(status);
    });
    return last[0];
  }

  @Test
  void anAcceptedInvocationRunsOnceAndItsResultCanBeRead() {
    HttpResponse<String> r = http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .header("content-type", "application/json")
        .header("ce-type", "com.example.test").header("ce-id", "42")
        .header("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .POST(HttpRequest.BodyPublishers.ofString("{\"hello\":\"world\"}")).build());

    assertThat(r.statusCode()).isEqualTo(202);
    JsonObject body = new JsonObject(r.body());
    String id = body.getString("id");
    assertThat(body.getString("status")).isEqualTo("queued");
    assertThat(body.getString("namespace")).isEqualTo("acme");
    assertThat(body.getString("function")).isEqualTo("echo");
    assertThat(body.getString("acceptedAt")).isNotBlank();
    assertThat(r.headers().firstValue("location")).contains("/v1/invocations/" + id);

    JsonObject status = awaitStatus(id, "succeeded");
    assertThat(status.getInteger("attempts")).isEqualTo(1);
    assertThat(status.getInteger("httpStatus")).isEqualTo(200);
    assertThat(status.getString("traceId")).isEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(status.getJsonArray("history")).hasSize(1);
    assertThat(status.getLong("queueWaitMs")).isNotNull();

    HttpResponse<String> result = http.get("/v1/invocations/" + id + "/result", ACME_KEY);
    assertThat(result.statusCode()).isEqualTo(200);
    assertThat(result.body()).isEqualTo("{\"hello\":\"world\"}");
    assertThat(result.headers().firstValue("x-function-status")).contains("200");
    assertThat(result.headers().firstValue("content-type")).contains("application/json");

    assertThat(fn.callsFor(id)).isEqualTo(1);
    FunctionServer.Call call = fn.calls().stream().filter(c -> id.equals(c.invocationId())).findFirst().orElseThrow();
    assertThat(call.attempt()).isEqualTo(1);
    assertThat(call.headers().get("content-type")).isEqualTo("application/json");
    assertThat(call.headers().get("ce-type")).isEqualTo("com.example.test");
    assertThat(call.headers().get("ce-id")).isEqualTo("42");
    assertThat(call.headers().get("traceparent")).startsWith("00-0af7651916cd43dd8448eb211c80319c-");
    assertThat(call.headers().get("authorization")).isNull();

    List<JsonObject> usage = usageRecords(gateway, r2 -> r2.getJsonObject("data").getString("invocationId").equals(id), 1);
    JsonObject ce = usage.get(0);
    assertThat(ce.getString("specversion")).isEqualTo("1.0");
    assertThat(ce.getString("type")).isEqualTo("dev.conveyor.invocation.usage.v1");
    assertThat(ce.getString("id")).isEqualTo(id + ":1");
    assertThat(ce.getString("subject")).isEqualTo("acme");
    JsonObject data = ce.getJsonObject("data");
    assertThat(data.getString("outcome")).isEqualTo("success");
    assertThat(data.getString("mode")).isEqualTo("async");
    assertThat(data.getString("trigger")).isEqualTo("http");
    assertThat(data.getInteger("memoryMiB")).isEqualTo(256);
    assertThat(data.getLong("billedDurationMs")).isEqualTo(data.getLong("durationMs"));
    assertThat(data.getLong("requestBytes")).isEqualTo(17L);
    assertThat(data.getBoolean("coldStart")).isFalse();
  }

  @Test
  void aThousandConcurrentInvocationsAllSucceed() throws Exception {
    int n = 1000;
    Semaphore window = new Semaphore(100);
    List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      window.acquire();
      sent.add(http.sendAsync(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
              .POST(HttpRequest.BodyPublishers.ofString("{\"i\":" + i + "}")).build())
          .whenComplete((r, e) -> window.release()));
    }
    List<String> ids = new ArrayList<>();
    for (var f : sent) {
      HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(202);
      ids.add(new JsonObject(r.body()).getString("id"));
    }
    assertThat(Set.copyOf(ids)).hasSize(n);
    await().atMost(Duration.ofSeconds(60)).until(() -> ids.stream().allMatch(id -> fn.callsFor(id) >= 1));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      for (String id : ids) assertThat(http.status(id, ACME_KEY).getString("status")).as(id).isEqualTo("succeeded");
    });
  }

  @Test
  void aFunctionFailingTwiceIsRetriedAndEachAttemptIsMetered() {
    String id = new JsonObject(http.invoke(ACME_KEY, "acme", "fail-twice", "{}").body()).getString("id");
    JsonObject s = awaitStatus(id, "succeeded");
    assertThat(s.getInteger("attempts")).isEqualTo(3);
    assertThat(s.getJsonArray("history").stream().map(h -> ((JsonObject) h).getInteger("httpStatus")).toList())
        .containsExactly(500, 500, 200);
    assertThat(fn.callsFor(id)).isEqualTo(3);
    assertThat(fn.calls().stream().filter(c -> id.equals(c.invocationId())).map(FunctionServer.Call::attempt).toList())
        .containsExactly(1, 2, 3);
    List<JsonObject> usage = usageRecords(gateway, r -> r.getJsonObject("data").getString("invocationId").equals(id), 3);
    assertThat(usage.stream().map(u -> u.getString("id")).toList()).containsExactlyInAnyOrder(id + ":1", id + ":2", id + ":3");
  }

  @Test
  void aClientErrorIsFinalAndDeadLettered() {
    String id = new JsonObject(http.invoke(ACME_KEY, "acme", "bad", "{}").body()).getString("id");
    JsonObject s = awaitStatus(id, "failed");
    assertThat(s.getInteger("attempts")).isEqualTo(1);
    assertThat(s.getInteger("httpStatus")).isEqualTo(400);
    assertThat(fn.callsFor(id)).isEqualTo(1);
    HttpResponse<String> result = http.get("/v1/invocations/" + id + "/result", ACME_KEY);
    assertThat(result.statusCode()).isEqualTo(200);
    assertThat(result.headers().firstValue("x-function-status")).contains("400");
    List<ConsumerRecord<String, String>> dead = records(gateway.topics().deadletter(), r -> id.equals(r.key()), 1);
    assertThat(dead.get(0).value()).isEqualTo("{}");
    assertThat(new String(dead.get(0).headers().lastHeader("knativeerrorcode").value())).isEqualTo("400");
  }

  @Test
  void aRetryingInvocationCanBeCancelledAndThenNotCancelledAgain() {
    String id = new JsonObject(http.invoke(ACME_KEY, "acme", "unavailable", "{}").body()).getString("id");
    awaitStatus(id, "retrying");
    HttpResponse<String> cancel = http.send(http.request("/v1/invocations/" + id, ACME_KEY).DELETE().build());
    assertThat(cancel.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(cancel.body()).getString("status")).isEqualTo("cancelled");
    awaitStatus(id, "cancelled");
    HttpResponse<String> again = http.send(http.request("/v1/invocations/" + id, ACME_KEY).DELETE().build());
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(fn.callsFor(id)).isEqualTo(1);
    HttpResponse<String> result = http.get("/v1/invocations/" + id + "/result", ACME_KEY);
    assertThat(result.statusCode()).isEqualTo(404);
  }

  @Test
  void anIdempotencyKeyReplaysTheSameInvocation() {
    HttpRequest.Builder req = http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .header("idempotency-key", "order-7781").POST(HttpRequest.BodyPublishers.ofString("{}"));
    HttpResponse<String> first = http.send(req.build());
    HttpResponse<String> second = http.send(req.build());
    assertThat(first.statusCode()).isEqualTo(202);
    assertThat(second.statusCode()).isEqualTo(202);
    String id = new JsonObject(first.body()).getString("id");
    assertThat(new JsonObject(second.body()).getString("id")).isEqualTo(id);
    assertThat(first.headers().firstValue("idempotent-replayed")).isEmpty();
    assertThat(second.headers().firstValue("idempotent-replayed")).contains("true");
    awaitStatus(id, "succeeded");
    HttpResponse<String> third = http.send(req.build());
    assertThat(new JsonObject(third.body()).getString("id")).isEqualTo(id);
    assertThat(fn.callsFor(id)).isEqualTo(1);

    // The same key for another tenant is another invocation.
    HttpResponse<String> other = http.send(http.request("/v1/namespaces/globex/functions/echo/invocations", GLOBEX_KEY)
        .header("idempotency-key", "order-7781").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
    assertThat(new JsonObject(other.body()).getString("id")).isNotEqualTo(id);
  }

  @Test
  void aMultipartPayloadReachesTheFunctionByteForByte() {
    String boundary = "----conveyor7";
    String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
        + "Content-Type: text/plain\r\n\r\nhello multipart\r\n--" + boundary + "--\r\n";
    HttpResponse<String> r = http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", ACME_KEY)
        .header("content-type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    String id = new JsonObject(r.body()).getString("id");
    awaitStatus(id, "succeeded");
    FunctionServer.Call call = fn.calls().stream().filter(c -> id.equals(c.invocationId())).findFirst().orElseThrow();
    assertThat(call.body()).isEqualTo(body);
    assertThat(call.headers().get("content-type")).isEqualTo("multipart/form-data; boundary=" + boundary);
  }

  @Test
  void aPayloadAtTheDefaultLimitIsStoredAndDelivered() {
    String payload = "p".repeat(1024 * 1024);
    HttpResponse<String> r = http.send(http.request("/v1/namespaces/globex/functions/echo/invocations", GLOBEX_KEY)
        .POST(HttpRequest.BodyPublishers.ofString(payload)).build());
    assertThat(r.statusCode()).isEqualTo(202);
    String id = new JsonObject(r.body()).getString("id");
    await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(http.status(id, GLOBEX_KEY).getString("status")));
    assertThat(http.get("/v1/invocations/" + id + "/result", GLOBEX_KEY).body()).isEqualTo(payload);
  }

  @Test
  void aHugeResponseIsKeptUpToTheLimitAndMeteredWhole() {
    String id = new JsonObject(http.invoke(ACME_KEY, "acme", "big", "{}").body()).getString("id");
    awaitStatus(id, "succeeded");
    assertThat(http.get("/v1/invocations/" + id + "/result", ACME_KEY).body()).hasSize(1024 * 1024);
    JsonObject data = usageRecords(gateway, u -> u.getJsonObject("data").getString("invocationId").equals(id), 1).get(0)
        .getJsonObject("data");
    assertThat(data.getLong("responseBytes")).isEqualTo(3L * 1024 * 1024);
  }

  @Test
  void aSlowFunctionTimesOutOnEveryAttemptAndIsMeteredAsTimeouts() {
    String id = new JsonObject(http.invoke(ACME_KEY, "acme", "slow", "{}").body()).getString("id");
    JsonObject s = awaitStatus(id, "failed");
    assertThat(s.getInteger("attempts")).isEqualTo(2);
    assertThat(s.getString("lastError")).contains("no answer within 200 ms");
    List<JsonObject> usage = usageRecords(gateway, u -> u.getJsonObject("data").getString("invocationId").equals(id), 2);
    assertThat(usage).allSatisfy(u -> assertThat(u.getJsonObject("data").getString("outcome")).isEqualTo("timeout"));
  }

  @Test
  void anInvocationOlderThanItsMaxEventAgeExpiresInsteadOfAnotherAttempt() {
    String id = new JsonObject(http.invoke(ACME_KEY, "acme", "aging", "{}").body()).getString("id");
    JsonObject s = awaitStatus(id, "expired");
    assertThat(s.getString("lastError")).contains("maxEventAge");
    long lived = java.time.Instant.parse(s.getString("finishedAt")).toEpochMilli()
        - java.time.Instant.parse(s.getString("acceptedAt")).toEpochMilli();
    assertThat(lived).isGreaterThanOrEqualTo(2000);
    assertThat(s.getInteger("attempts")).isLessThan(51).isEqualTo(fn.callsFor(id));
  }

  @Test
  void anotherTenantsInvocationIsNotFound() {
    String id = new JsonObject(http.invoke(ACME_KEY, "acme", "echo", "{}").body()).getString("id");
    awaitStatus(id, "succeeded");
    assertThat(http.get("/v1/invocations/" + id, GLOBEX_KEY).statusCode()).isEqualTo(404);
    assertThat(http.get("/v1/invocations/" + id + "/result", GLOBEX_KEY).statusCode()).isEqualTo(404);
    assertThat(http.send(http.request("/v1/invocations/" + id, GLOBEX_KEY).DELETE().build()).statusCode()).isEqualTo(404);
  }

  static List<JsonObject> usageRecords(Conveyor gw, java.util.function.Predicate<JsonObject> match, int expected) {
    return records(gw.topics().usage(), r -> match.test(new JsonObject(r.value())), expected).stream()
        .map(r -> new JsonObject(r.value())).toList();
  }

  /** Reads a topic from the start until {@code expected} matching records were seen (bounded). */
  static List<ConsumerRecord<String, String>> records(String topic, java.util.function.Predicate<ConsumerRecord<String, String>> match, int expected) {
    return records(TestKafka.bootstrap(), topic, match, expected);
  }

  /** The first {@code expected} records of {@code topic} that match, read from the beginning (30 s at most). */
  static List<ConsumerRecord<String, String>> records(String bootstrap, String topic,
      java.util.function.Predicate<ConsumerRecord<String, String>> match, int expected) {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrap);
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) if (match.test(r)) out.add(r);
        return out.size() >= expected;
      });
    }
    assertThat(out).hasSize(expected);
    return out;
  }
}
