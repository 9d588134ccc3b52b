package dev.conveyor.engine.http;

import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.kafka.KafkaHealth;
import dev.conveyor.engine.kafka.StoreFailure;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.queue.Enqueuer;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.observability.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Async invoke: {@code POST /v1/namespaces/{ns}/functions/{fn}/invocations}, and the compatible
 * forms (OpenFaaS {@code POST /async-function/{fn}}, {@code Prefer: respond-async} on the sync
 * route). {@link Admission} first, then idempotency replay, then the write; a 202 is sent only
 * after the {@link Enqueuer} reports the invocation stored with acks=all.
 */
public final class AcceptHandler implements Handler<RoutingContext> {
  private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7e]{1,255}");

  private final Admission admission;
  private final Enqueuer enqueuer;
  private final StatusStore status;
  private final KafkaHealth kafka;
  private final Metrics metrics;
  private final Tracing tracing;
  /** Requests with the same idempotency key in flight on this replica share one write. */
  private final Map<String, KeyedWrite> pendingKeys = new ConcurrentHashMap<>();

  /** One write for a key, and the invocation it stores. */
  private record KeyedWrite(Future<InvocationStatus> stored, Invocation inv) {}
  private final UnknownOutcomes unknown;

  public AcceptHandler(Admission admission, Enqueuer enqueuer, StatusStore status, KafkaHealth kafka, Metrics metrics,
      Tracing tracing, dev.conveyor.engine.time.Time time, dev.conveyor.engine.queue.QueueLookup queue) {
    this.unknown = new UnknownOutcomes(time, queue, enqueuer);
    this.tracing = tracing;
    this.admission = admission;
    this.enqueuer = enqueuer;
    this.status = status;
    this.kafka = kafka;
    this.metrics = metrics;
  }

  @Override
  public void handle(RoutingContext ctx) {
    accept(ctx, ctx.pathParam("ns"), ctx.pathParam("fn"));
  }

  /**
   * The accept routes' failure handler, before the router's: counts an async accept answered 503
   * ({@code kafka_unavailable} when Kafka is known down, {@code store_outcome_unknown}, ...), then
   * lets the router's failure handler answer.
   */
  public void failed(RoutingContext ctx) {
    if (ctx.failure() instanceof ApiError e && e.status() == 503) metrics.acceptFailed(e.code());
    ctx.next();
  }

  /** OpenFaaS' {@code POST /async-function/{fn}}: the namespace is the tenant's default. */
  public void openFaas(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.invoke);
    accept(ctx, p.tenant().defaultNamespace(), ctx.pathParam("fn"));
  }

  void accept(RoutingContext ctx, String ns, String fn) {
    String idem = ctx.request().getHeader("idempotency-key");
    if (idem != null && !IDEMPOTENCY_KEY.matcher(idem).matches()) {
      throw ApiError.badRequest("invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters.");
    }
    Admission.Admitted a = admission.admit(ctx, ns, fn); // last: it takes a rate token
    // The API call's server span; the producer span's context is what the stored record carries.
    Context server = ServerSpans.start(tracing, ctx, a.tenant());
    if (idem == null) {
      Invocation[] inv = {null};
      enqueue(ctx, a, null, server, inv).onComplete(ar -> respond(ctx, ar, false, a, inv[0]));
      return;
    }
    String replay = status.idempotent(a.tenant(), ns, fn, idem).orElse(null);
    InvocationStatus known = replay == null ? null : status.get(replay).map(StatusStore.Entry::status).orElse(null);
    if (known != null) {
      accepted(ctx, known, true);
      return;
    }
    String key = a.tenant() + '\u0000' + ns + '\u0000' + fn + '\u0000' + idem;
    boolean[] mine = {false};
    KeyedWrite w = pendingKeys.computeIfAbsent(key, k -> {
      mine[0] = true;
      Invocation[] inv = {null};
      Future<InvocationStatus> f = enqueue(ctx, a, idem, server, inv);
      return new KeyedWrite(f, inv[0]);
    });
    if (mine[0]) w.stored().onComplete(ar -> pendingKeys.remove(key));
    // A request that joined another's write answers on its own context (and leaves settling to it).
    io.vertx.core.Context own = ctx.vertx().getOrCreateContext();
    w.stored().onComplete(ar -> {
      try {
        own.runOnContext(v -> respond(ctx, ar, !mine[0], a, w.inv()));
      } catch (java.util.concurrent.RejectedExecutionException stopped) {
        // the server's event loops stopped (shutting down): its connection is gone, nobody to answer
      }
    });
  }

  /** Stores the invocation under a producer span (its context travels in the record's traceparent). */
  private Future<InvocationStatus> enqueue(RoutingContext ctx, Admission.Admitted a, String idem, Context parent, Invocation[] out) {
    Span producer = tracing.tracer().spanBuilder("send " + enqueuer.topic()).setSpanKind(SpanKind.PRODUCER).setParent(parent)
        .setAttribute("messaging.system", "kafka").setAttribute("messaging.destination.name", enqueuer.topic())
        .setAttribute("messaging.operation.type", "send").startSpan();
    Invocation inv = admission.invocation(ctx, a, idem, Tracing.traceparent(producer.getSpanContext()), true);
    out[0] = inv;
    producer.setAttribute("faas.invocation_id", inv.id());
    Future<InvocationStatus> stored = enqueuer.enqueue(inv);
    if (!producer.isRecording()) return stored; // its end would be ignored
    return stored.onComplete(ar -> {
      if (ar.failed()) producer.setStatus(StatusCode.ERROR, ar.cause().getClass().getSimpleName());
      producer.end();
    });
  }

  /**
   * @param replayed the answer is another request's: an earlier one with the same key, or one in
   *     flight with it (which settles an unknown outcome itself)
   * @param inv the invocation the write stored, or tried to
   */
  private void respond(RoutingContext ctx, io.vertx.core.AsyncResult<InvocationStatus> ar, boolean replayed, Admission.Admitted a,
      Invocation inv) {
    if (ar.failed()) {
      if (StoreFailure.retriable(ar.cause())) kafka.markDown("the last write to Kafka failed");
      if (StoreFailure.of(ar.cause()) == StoreFailure.OUTCOME_UNKNOWN && inv != null && !replayed) unknown.settle(inv);
      String id = inv != null ? inv.id() : null;
      ctx.fail(ApiError.storeFailed(ar.cause(), id, "invocation"));
      return;
    }
    InvocationStatus s = ar.result();
    if (!replayed) {
      metrics.accepted(a.tenant(), s.namespace(), s.function());
      admission.stored(a.tenant(), s.id());
    }
    accepted(ctx, s, replayed);
  }

  private static void accepted(RoutingContext ctx, InvocationStatus s, boolean replayed) {
    var resp = ctx.response().setStatusCode(202)
        .putHeader("content-type", "application/json")
        .putHeader("location", "/v1/invocations/" + s.id());
    if (replayed) resp.putHeader("idempotent-replayed", "true");
    resp.end(io.vertx.core.buffer.Buffer.buffer(body(s.id(), replayed ? s.status().name() : "queued", s.namespace(), s.function(),
        dev.conveyor.engine.api.Rfc3339.instant(s.acceptedAt()))));
  }

  /**
   * A 202's JSON body, written as bytes at once (no string to concatenate, then encode): every value
   * is a UUID, a state name, a validated DNS label or an ISO instant, so ASCII with nothing to
   * escape. (A value with anything else after all, or with a character JSON escapes, is written by
   * Vert.x's JSON encoder.)
   */
  static byte[] body(String id, String status, String namespace, String function, String acceptedAt) {
    if (!plain(id) || !plain(status) || !plain(namespace) || !plain(function) || !plain(acceptedAt)) {
      return new io.vertx.core.json.JsonObject().put("id", id).put("status", status).put("namespace", namespace)
          .put("function", function).put("acceptedAt", acceptedAt).toBuffer().getBytes();
    }
    byte[] b = new byte[BODY_FIXED + id.length() + status.length() + namespace.length() + function.length() + acceptedAt.length()];
    int at = ascii("{\"id\":\"", b, 0);
    at = ascii(id, b, at);
    at = ascii("\",\"status\":\"", b, at);
    at = ascii(status, b, at);
    at = ascii("\",\"namespace\":\"", b, at);
    at = ascii(namespace, b, at);
    at = ascii("\",\"function\":\"", b, at);
    at = ascii(function, b, at);
    at = ascii("\",\"acceptedAt\":\"", b, at);
    at = ascii(acceptedAt, b, at);
    ascii("\"}", b, at);
    return b;
  }

  /** The characters of {@link #body} besides its values. */
  private static final int BODY_FIXED = "{\"id\":\"\",\"status\":\"\",\"namespace\":\"\",\"function\":\"\",\"acceptedAt\":\"\"}".length();

  /** Printable ASCII that a JSON string holds as it is (no quote, backslash or control character). */
  private static boolean plain(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
    }
    return true;
  }

  private static int ascii(String s, byte[] out, int at) {
    for (int i = 0; i < s.length(); i++) out[at++] = (byte) s.charAt(i);
    return at;
  }
}
