package dev.conveyor.engine.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Load under a fault, and an audit of every answer against what the function ran. Two kinds of
 * client send async invocations of one function:
 * <ul>
 *   <li>plain clients: one request per payload ({@code {"u":n}}), no idempotency key, never retried;</li>
 *   <li>careful clients: one logical request per key ({@code {"k":key}}, {@code Idempotency-Key: key}),
 *       sent again after every answer that is not a 202 (and after no answer), until a 202.</li>
 * </ul>
 * The audit then holds the gateway to its word: a 202 ran; a refusal ({@code kafka_unavailable}, or
 * any other error) never ran; a {@code store_outcome_unknown} is settled by looking its id up, and it
 * ran if and only if the lookup says it was stored; every key ran exactly once.
 */
public final class AnswerAudit {
  /** One answer: HTTP status (-1: none, the connection failed or timed out), error code, id. */
  public record Answer(int status, String error, String id) {}

  private final Http http;
  private final String key;
  private final String ns;
  private final String fn;
  private final Map<Integer, Answer> plain = new ConcurrentHashMap<>();
  private final Map<String, List<Answer>> careful = new ConcurrentHashMap<>();
  private final AtomicInteger seq = new AtomicInteger();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stopping;
  private volatile long giveUpAt = Long.MAX_VALUE;

  public AnswerAudit(Http http, String apiKey, String ns, String fn) {
    this.http = http;
    this.key = apiKey;
    this.ns = ns;
    this.fn = fn;
  }

  /** Starts {@code plainClients} and {@code carefulClients}, each sending one request every {@code paceMs}. */
  public AnswerAudit start(int plainClients, int carefulClients, long paceMs) {
    for (int i = 0; i < plainClients; i++) threads.add(new Thread(() -> plainClient(paceMs), "plain-client-" + i));
    for (int i = 0; i < carefulClients; i++) threads.add(new Thread(() -> carefulClient(paceMs), "careful-client-" + i));
    threads.forEach(Thread::start);
    return this;
  }

  private Answer send(String body, String idempotencyKey) {
    HttpRequest.Builder b = http.request("/v1/namespaces/" + ns + "/functions/" + fn + "/invocations", key)
        .timeout(Duration.ofSeconds(60)).header("content-type", "application/json");
    if (idempotencyKey != null) b.header("idempotency-key", idempotencyKey);
    try {
      HttpResponse<String> r = http.send(b.POST(HttpRequest.BodyPublishers.ofString(body)).build());
      JsonObject j = r.body() == null || r.body().isEmpty() ? new JsonObject() : new JsonObject(r.body());
      return new Answer(r.statusCode(), j.getString("error"), j.getString("id"));
    } catch (RuntimeException e) {
      return new Answer(-1, e.getClass().getSimpleName(), null);
    }
  }

  private void plainClient(long paceMs) {
    while (!stopping) {
      int n = seq.incrementAndGet();
      plain.put(n, send("{\"u\":" + n + "}", null));
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(paceMs)); // pacing the load, not waiting for anything
    }
  }

  private void carefulClient(long paceMs) {
    while (!stopping) {
      String k = "key-" + seq.incrementAndGet();
      List<Answer> tries = new CopyOnWriteArrayList<>();
      careful.put(k, tries);
      while (System.currentTimeMillis() < giveUpAt) {
        Answer a = send("{\"k\":\"" + k + "\"}", k);
        tries.add(a);
        if (a.status() == 202) break;
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(Math.max(paceMs, 200))); // a client's pause before trying again
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(paceMs));
    }
  }

  public long answered(int status) {
    return plain.values().stream().filter(a -> a.status() == status).count()
        + careful.values().stream().flatMap(List::stream).filter(a -> a.status() == status).count();
  }

  /** Stops sending new requests; careful clients finish the logical request in hand (within 2 minutes). */
  public void stop() throws InterruptedException {
    giveUpAt = System.currentTimeMillis() + 120_000;
    stopping = true;
    for (Thread t : threads) t.join(180_000);
  }

  /** What the audit counted, for the test's report. */
  public record Report(int plainRequests, Map<String, Integer> plainAnswers, int unknownStored, int unknownNeverStored,
      int phantomExecutions, int carefulKeys, int carefulTries, int keysRunTwice) {}

  /**
   * Settles every unknown outcome by lookup, waits until the queue has been dispatched past everything
   * (a marker invocation sent last has run), and checks every answer against what {@code function} ran.
   */
  public Report audit(FunctionServer function) {
    // Settle every unknown outcome through the API, as a client would.
    Map<Integer, Boolean> stored = new HashMap<>();
    plain.forEach((n, a) -> {
      if (a.status() == 503 && "store_outcome_unknown".equals(a.error())) {
        assertThat(a.id()).as("an unknown outcome names its id").isNotNull();
        stored.put(n, settle(a.id()));
      }
    });
    String marker = new JsonObject(http.invoke(key, ns, fn, "{\"marker\":1}").body()).getString("id");
    await().atMost(Duration.ofMinutes(2)).until(() -> function.callsFor(marker) >= 1);
    // Every 202 runs (at least once).
    await().atMost(Duration.ofMinutes(2)).until(() -> plain.values().stream().filter(a -> a.status() == 202)
        .allMatch(a -> function.callsFor(a.id()) >= 1));

    Map<Integer, Integer> ranPlain = new HashMap<>();
    Map<String, Integer> ranCareful = new HashMap<>();
    for (FunctionServer.Call c : function.calls()) {
      JsonObject body = new JsonObject(c.body());
      if (body.containsKey("u")) ranPlain.merge(body.getInteger("u"), 1, Integer::sum);
      if (body.containsKey("k")) ranCareful.merge(body.getString("k"), 1, Integer::sum);
    }
    int phantoms = 0;
    int unknownStored = 0;
    int unknownNever = 0;
    Map<String, Integer> answers = new java.util.TreeMap<>();
    for (var e : plain.entrySet()) {
      Answer a = e.getValue();
      int ran = ranPlain.getOrDefault(e.getKey(), 0);
      answers.merge(a.status() + (a.error() == null ? "" : " " + a.error()), 1, Integer::sum);
      if (a.status() == 202) continue;
      if (stored.containsKey(e.getKey())) {
        if (stored.get(e.getKey())) {
          unknownStored++;
          assertThat(ran).as("unknown outcome %s settled as stored", a.id()).isGreaterThanOrEqualTo(1);
        } else {
          unknownNever++;
          if (ran > 0) phantoms++;
        }
      } else if (ran > 0) {
        phantoms++; // told it was not stored (or told nothing), and it ran
      }
    }
    int twice = 0;
    int tries = 0;
    for (var e : careful.entrySet()) {
      List<Answer> t = e.getValue();
      tries += t.size();
      assertThat(t.get(t.size() - 1).status()).as("key %s ends with a 202", e.getKey()).isEqualTo(202);
      int ran = ranCareful.getOrDefault(e.getKey(), 0);
      if (ran != 1) twice++;
    }
    Report r = new Report(plain.size(), answers, unknownStored, unknownNever, phantoms, careful.size(), tries, twice);
    System.out.println("answer audit: " + r);
    assertThat(answers.keySet()).as("every request was answered").noneMatch(s -> s.startsWith("-1"));
    assertThat(phantoms).as("invocations whose client was told they were not stored, yet ran").isZero();
    assertThat(twice).as("keys that did not run exactly once").isZero();
    return r;
  }

  /** Looks the id up until the answer is certain: stored (true) or never stored (false). */
  private boolean settle(String id) {
    boolean[] stored = {false};
    await().atMost(Duration.ofMinutes(1)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(200)).until(() -> {
      HttpResponse<String> r = http.get("/v1/invocations/" + id, key);
      if (r.statusCode() == 200) {
        stored[0] = true;
        return true;
      }
      if (r.statusCode() == 404) {
        assertThat(new JsonObject(r.body()).getString("error")).as("an unknown outcome's id is never simply unknown")
            .isEqualTo("invocation_not_stored");
        return true;
      }
      return false; // 503: cannot be looked up yet
    });
    return stored[0];
  }
}
