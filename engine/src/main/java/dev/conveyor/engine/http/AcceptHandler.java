package dev.conveyor.engine.http;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.kafka.KafkaHealth;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.queue.Enqueuer;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * {@code POST /v1/namespaces/{ns}/functions/{fn}/invocations}: checks, then stores, then 202.
 * Order of checks: role, namespace ownership (403), function exists (404), payload size (413),
 * Kafka reachable (503), idempotency replay; only then the write. A 202 is sent only after the
 * {@link Enqueuer} reports the invocation stored with acks=all.
 */
public final class AcceptHandler implements Handler<RoutingContext> {
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern TRACEPARENT = Pattern.compile("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
  private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7e]{1,255}");

  private final FunctionRegistry functions;
  private final Enqueuer enqueuer;
  private final StatusStore status;
  private final KafkaHealth kafka;
  private final Metrics metrics;
  private final Supplier<Instant> clock;
  /** Requests with the same idempotency key in flight on this replica share one write. */
  private final Map<String, Future<InvocationStatus>> pendingKeys = new ConcurrentHashMap<>();

  public AcceptHandler(FunctionRegistry functions, Enqueuer enqueuer, StatusStore status, KafkaHealth kafka,
      Metrics metrics, Supplier<Instant> clock) {
    this.functions = functions;
    this.enqueuer = enqueuer;
    this.status = status;
    this.kafka = kafka;
    this.metrics = metrics;
    this.clock = clock;
  }

  static void checkName(String what, String value) {
    if (value == null || !NAME.matcher(value).matches()) {
      throw ApiError.badRequest("invalid_name", "The " + what + " must be a DNS label: lower-case letters, digits and '-', at most 63.");
    }
  }

  @Override
  public void handle(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.invoke);
    String ns = ctx.pathParam("ns");
    String fn = ctx.pathParam("fn");
    checkName("namespace", ns);
    checkName("function name", fn);
    if (!p.owns(ns)) {
      throw ApiError.forbidden("namespace_forbidden", "This credential may not invoke functions in namespace '" + ns + "'.");
    }
    if (functions.find(ns, fn).isEmpty()) {
      throw ApiError.notFound("function_not_found", "No function '" + fn + "' in namespace '" + ns + "'; check the name or deploy it first.");
    }
    Buffer body = ctx.body().buffer();
    int size = body == null ? 0 : body.length();
    if (size > p.tenant().limits().maxPayloadBytes()) {
      throw new ApiError(413, "payload_too_large",
          "The payload is " + size + " bytes; this tenant's limit is " + p.tenant().limits().maxPayloadBytes() + ".");
    }
    if (!kafka.reachable()) {
      throw ApiError.unavailable("The queue is unavailable; nothing was stored. Retry later.");
    }
    String idem = ctx.request().getHeader("idempotency-key");
    if (idem != null && !IDEMPOTENCY_KEY.matcher(idem).matches()) {
      throw ApiError.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters.");
    }
    if (idem != null) {
      String replay = status.idempotent(p.tenant().name(), ns, fn, idem).orElse(null);
      if (replay != null) {
        InvocationStatus s = status.get(replay).map(StatusStore.Entry::status).orElse(null);
        if (s != null) {
          accepted(ctx, s, true);
          return;
        }
      }
      String key = p.tenant().name() + '\u0000' + ns + '\u0000' + fn + '\u0000' + idem;
      boolean[] mine = {false};
      Future<InvocationStatus> f = pendingKeys.computeIfAbsent(key, k -> {
        mine[0] = true;
        return enqueuer.enqueue(invocation(ctx, p, ns, fn, body, idem));
      });
      if (mine[0]) f.onComplete(ar -> pendingKeys.remove(key));
      f.onComplete(ar -> respond(ctx, ar.succeeded() ? ar.result() : null, !mine[0], p, ns, fn));
      return;
    }
    enqueuer.enqueue(invocation(ctx, p, ns, fn, body, null))
        .onComplete(ar -> respond(ctx, ar.succeeded() ? ar.result() : null, false, p, ns, fn));
  }

  private void respond(RoutingContext ctx, InvocationStatus s, boolean replayed, Principal p, String ns, String fn) {
    if (s == null) {
      kafka.markDown("the last write to Kafka failed");
      FailureHandler.send(ctx, ApiError.unavailable("The invocation could not be stored; it was not accepted. Retry later."));
      return;
    }
    if (!replayed) metrics.accepted(p.tenant().name(), ns, fn);
    accepted(ctx, s, replayed);
  }

  private static void accepted(RoutingContext ctx, InvocationStatus s, boolean replayed) {
    var resp = ctx.response().setStatusCode(202)
        .putHeader("content-type", "application/json")
        .putHeader("location", "/v1/invocations/" + s.id());
    if (replayed) resp.putHeader("idempotent-replayed", "true");
    // Every field is a UUID, a state name, a validated DNS label or an ISO instant: nothing to escape.
    resp.end("{\"id\":\"" + s.id() + "\",\"status\":\"" + (replayed ? s.status().name() : "queued")
        + "\",\"namespace\":\"" + s.namespace() + "\",\"function\":\"" + s.function()
        + "\",\"acceptedAt\":\"" + s.acceptedAt() + "\"}");
  }

  private Invocation invocation(RoutingContext ctx, Principal p, String ns, String fn, Buffer body, String idem) {
    var req = ctx.request();
    Map<String, String> pass = new LinkedHashMap<>();
    req.headers().forEach(h -> {
      String name = h.getKey().toLowerCase();
      if (name.startsWith("ce-") || name.equals("tracestate")) pass.put(name, h.getValue());
    });
    String tp = req.getHeader("traceparent");
    String traceId = tp != null && TRACEPARENT.matcher(tp).matches() && !tp.startsWith("00-00000000000000000000000000000000")
        ? tp.substring(3, 35) : randomHex(32);
    String traceparent = "00-" + traceId + "-" + randomHex(16) + "-01";
    String query = req.query();
    byte[] payload = body == null ? new byte[0] : body.getBytes();
    Instant now = clock.get();
    return new Invocation(InvocationIds.next(now.toEpochMilli()), p.tenant().name(), ns, fn,
        req.getHeader("content-type"), payload, query == null || query.isEmpty() ? null : query, pass, now, idem,
        traceparent);
  }

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private static String randomHex(int chars) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] out = new char[chars];
    long bits = 0;
    for (int i = 0; i < chars; i++) {
      if ((i & 15) == 0) bits = r.nextLong();
      out[i] = HEX[(int) (bits & 15)];
      bits >>>= 4;
    }
    return new String(out);
  }
}
