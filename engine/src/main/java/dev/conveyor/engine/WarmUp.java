package dev.conveyor.engine;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.http.AcceptHandler;
import dev.conveyor.engine.http.Admission;
import dev.conveyor.engine.http.ApiRoutes;
import dev.conveyor.engine.http.AuthHandler;
import dev.conveyor.engine.http.ServerVerticle;
import dev.conveyor.engine.kafka.EmbeddedKafka;
import dev.conveyor.engine.kafka.KafkaHealth;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.observability.Tracing;
import dev.conveyor.engine.queue.Enqueuer;
import dev.conveyor.engine.queue.QueueLookup;
import dev.conveyor.engine.status.StatusStore;
import dev.conveyor.engine.tenancy.Backlog;
import dev.conveyor.engine.tenancy.Placement;
import dev.conveyor.engine.tenancy.RateQuotas;
import dev.conveyor.engine.tenancy.Tenants;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's warm-up before it reports ready: it drives its own async accept path over loopback
 * until the JIT has compiled it, so that the first requests a load balancer sends it after
 * {@code /readyz} turns 200 run at the steady rate (untrained, a replica took about 20 s to get
 * there, serving a fifth of its rate in its first 10 s; see docs/benchmarks.md, Warm).
 *
 * <p>The requests go through the same code as the API's: the route chain of {@link ApiRoutes}
 * (authentication with an API key, body limit, failure handling), {@link Admission} with every
 * check on, {@link AcceptHandler} (spans, ids, idempotency keys) and the shared {@link KafkaSender}
 * with {@code acks=all}. What they touch is private to the warm-up: a tenant and a function that
 * exist only here (named {@value #NAME}, with a random key nobody else holds), a status store, rate
 * quotas and metrics of its own, a tracer that drops its spans, and the {@code warmup} topic,
 * which nothing reads. The queue, the status topic, the usage topic, the API's {@code /metrics}
 * and the operator's trace backend never see it. The server listens on 127.0.0.1 only and is
 * closed before the replica is ready.
 *
 * <p>It stops once the JIT has settled: two seconds in a row in which the compilers worked less than
 * {@value #SETTLED_MS} ms (while they compile, they take a core or more of a two-core machine, and
 * the code they have not compiled yet runs interpreted), and at {@code server.warmUp} at the latest.
 * Measured on two cores: the compilers settle after 15-25 s of this load.
 */
public final class WarmUp {
  private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);
  public static final String NAME = "conveyor-warmup";
  /** Requests in flight at once: enough to keep both event loops and the producer's batches busy. */
  private static final int CONNECTIONS = 32;
  private static final Buffer BODY = Buffer.buffer("{\"order\":\"A-1042\",\"items\":[{\"sku\":\"W-7\",\"qty\":2}],\"note\":\"warm-up\"}");

  /** Compiler time per second under which the JIT counts as settled. */
  static final long SETTLED_MS = 100;

  /** What the warm-up did: accepts answered 202, other answers, each second's 202s and compiler milliseconds. */
  public record Result(long accepted, long failed, List<Long> perSecond, List<Long> compileMs, Duration took) {
    /** No warm-up: off, or it failed. */
    static final Result NONE = new Result(0, 0, List.of(), List.of(), Duration.ZERO);
  }

  private WarmUp() {}

  /** Everything the warm-up shares with the real API: the sender, Kafka's health, the clock. */
  record Shared(KafkaSender sender, KafkaHealth health, QueueLookup queue, Tracing tracing, Time clock,
      String topic, int partitions, ConveyorConfig.QueueHeaders queueHeaders, ConveyorConfig.StatusRecords statusRecords) {}

  static Future<Result> run(Vertx vertx, Duration budget, Shared shared) {
    if (budget.isZero() || budget.isNegative()) return Future.succeededFuture(Result.NONE);
    String key = HexFormat.of().formatHex(random(32));
    ConveyorConfig own = ConfigLoader.parse("""
        tenants:
          - name: %1$s
            namespaces: [%1$s]
            apiKeys: [{ sha256: %2$s, roles: [invoke] }]
            limits: { ratePerSecond: 10000000, burst: 10000000, maxQueued: 1000000000 }
        functions:
          - { namespace: %1$s, name: noop, url: "http://127.0.0.1:9/noop" }
        """.formatted(NAME, ApiKeyAuthenticator.sha256Hex(key)), Map.of());
    Tenants tenants = new Tenants(own.tenants());
    FunctionRegistry functions = new FunctionRegistry(own.functions());
    Metrics metrics = new Metrics();
    // Recording spans is part of the path when the operator exports them; exporting never is.
    Tracing tracing = shared.tracing().recording() ? Tracing.discarding() : shared.tracing();
    StatusStore store = new StatusStore(16L << 20, Duration.ofHours(1), shared.clock(), shared.sender(), shared.topic(),
        shared.statusRecords());
    Placement placement = new Placement(tenants, shared.partitions(), Duration.ofHours(1), f -> Integer.MAX_VALUE);
    Backlog backlog = new Backlog(store, shared.clock(), placement::mine, metrics::queued);
    Admission admission = new Admission(functions, shared.health(), new RateQuotas(shared.clock()), metrics, shared.clock(), placement, backlog, true);
    Enqueuer enqueuer = new Enqueuer(shared.sender(), store, shared.topic(), shared.partitions(), shared.queueHeaders());
    AcceptHandler accept = new AcceptHandler(admission, enqueuer, store, shared.health(), metrics, tracing, shared.clock(), shared.queue());
    AuthHandler auth = new AuthHandler(tenants);
    int port = EmbeddedKafka.freePorts(1)[0];
    int loops = Math.max(1, Runtime.getRuntime().availableProcessors());
    long started = shared.clock().nanos();
    return vertx.deployVerticle(() -> new ServerVerticle("127.0.0.1", port, v -> ApiRoutes.acceptOnly(v, auth, accept), Duration.ZERO),
            new DeploymentOptions().setInstances(loops))
        .compose(deployment -> drive(vertx, shared.clock(), port, key, budget, started)
            .eventually(() -> vertx.undeploy(deployment)))
        .eventually(() -> {
          metrics.close();
          return Future.succeededFuture();
        })
        .onSuccess(r -> LOG.info("warmed up in {} ms: {} accepts ({} refused); accepts per second {}, compiler ms per second {}",
            r.took().toMillis(), r.accepted(), r.failed(), r.perSecond(), r.compileMs()));
  }

  /** {@link #CONNECTIONS} requests in flight until the budget is spent or the JIT has settled. */
  private static Future<Result> drive(Vertx vertx, Time clock, int port, String key, Duration budget, long started) {
    HttpClientAgent client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port)
        .setKeepAlive(true).setTcpNoDelay(true), new PoolOptions().setHttp1MaxSize(CONNECTIONS));
    AtomicLong accepted = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong sent = new AtomicLong();
    List<Long> perSecond = new ArrayList<>();
    List<Long> compileMs = new ArrayList<>();
    var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
    boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
    long[] compiled = {timed ? jit.getTotalCompilationTime() : 0};
    long deadline = started + budget.toNanos();
    boolean[] stop = {false};
    Promise<Result> done = Promise.promise();
    long[] last = {0};
    long[] timer = {0};
    int[] running = {CONNECTIONS};
    // One context for the bookkeeping: the timer and the lanes' callbacks all run on it.
    vertx.getOrCreateContext().runOnContext(v -> {
      timer[0] = clock.setPeriodic(1000, () -> {
        long now = accepted.get();
        perSecond.add(now - last[0]);
        last[0] = now;
        long total = timed ? jit.getTotalCompilationTime() : 0;
        compileMs.add(total - compiled[0]);
        compiled[0] = total;
        LOG.info("warming up, second {}: {} accepts, the JIT compiled for {} ms", perSecond.size(), perSecond.get(perSecond.size() - 1),
            compileMs.get(compileMs.size() - 1));
        // Without a compiler clock (a JVM that has none), the budget alone ends it.
        if (clock.nanos() >= deadline || timed && settled(compileMs)) stop[0] = true;
      });
      for (int i = 0; i < CONNECTIONS; i++) {
        lane(client, key, sent, accepted, failed, stop, () -> {
          if (--running[0] == 0) {
            clock.cancelTimer(timer[0]);
            client.close();
            done.complete(new Result(accepted.get(), failed.get(), List.copyOf(perSecond), List.copyOf(compileMs),
                Duration.ofNanos(clock.nanos() - started)));
          }
        });
      }
    });
    return done.future();
  }

  private static void lane(HttpClientAgent client, String key, AtomicLong sent, AtomicLong accepted, AtomicLong failed, boolean[] stop,
      Runnable finished) {
    if (stop[0]) {
      finished.run();
      return;
    }
    long n = sent.incrementAndGet();
    RequestOptions req = new RequestOptions().setMethod(HttpMethod.POST)
        // Both accept routes, as callers use them; a key on some, so the keyed path is compiled too.
        .setURI(n % 20 == 7 ? "/async-function/noop" : "/v1/namespaces/" + NAME + "/functions/noop/invocations")
        .putHeader("authorization", "Bearer " + key)
        .putHeader("content-type", "application/json")
        .putHeader("traceparent", "00-" + String.format("%032x", n + 1) + "-00f067aa0ba902b7-01")
        .putHeader("ce-type", "dev.conveyor.warmup");
    if (n % 20 == 3) req.putHeader("idempotency-key", "warmup-" + n);
    client.request(req)
        .compose(r -> r.send(BODY))
        .compose(resp -> resp.body().map(b -> resp.statusCode()))
        .onComplete(ar -> {
          if (ar.succeeded() && ar.result() == 202) accepted.incrementAndGet();
          else failed.incrementAndGet();
          // Refusals mean the path is not what the warm-up expects (Kafka down, ...): stop, never spin.
          if (failed.get() > 100) stop[0] = true;
          lane(client, key, sent, accepted, failed, stop, finished);
        });
  }

  /** The JIT has settled: after at least five seconds, the last two each under {@link #SETTLED_MS} ms of compiling. */
  static boolean settled(List<Long> compileMs) {
    int n = compileMs.size();
    return n >= 5 && compileMs.get(n - 1) < SETTLED_MS && compileMs.get(n - 2) < SETTLED_MS;
  }

  private static byte[] random(int bytes) {
    byte[] b = new byte[bytes];
    new SecureRandom().nextBytes(b);
    return b;
  }
}
