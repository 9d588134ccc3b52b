package dev.conveyor.engine.http;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationBuilder;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.kafka.KafkaHealth;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.observability.Tracing;
import dev.conveyor.engine.tenancy.RateQuotas;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The checks every invoke passes, async or sync, in this order: role (403), names (400), namespace
 * ownership (403), function known (404), payload within the tenant's limit (413), Kafka reachable
 * (503: nothing is stored, nor metered, without it). Then the invocation as the function will get it.
 */
public final class Admission {
  private static final Pattern TRACEPARENT = Pattern.compile("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");

  /** A request that may go on: who, to what, with which payload. */
  public record Admitted(Principal principal, FunctionTarget target, Buffer body, String callbackUrl) {
    public String tenant() {
      return principal.tenant().name();
    }
  }

  private final FunctionRegistry functions;
  private final KafkaHealth kafka;
  private final RateQuotas quotas;
  private final Metrics metrics;
  private final Time clock;

  private final dev.conveyor.engine.tenancy.Placement placement;
  private final dev.conveyor.engine.tenancy.Backlog backlog;
  private final boolean checkQuotas;
  private final java.util.function.Function<String, java.util.Optional<dev.conveyor.engine.metering.BudgetLedger.State>> budgetRefusal;

  public Admission(FunctionRegistry functions, KafkaHealth kafka, RateQuotas quotas, Metrics metrics, Time clock,
      dev.conveyor.engine.tenancy.Placement placement, dev.conveyor.engine.tenancy.Backlog backlog, boolean checkQuotas) {
    this(functions, kafka, quotas, metrics, clock, placement, backlog, checkQuotas, tenant -> java.util.Optional.empty());
  }

  /** {@code budgetRefusal}: the spent, enforced budget that refuses a tenant's new invocations, if any. */
  public Admission(FunctionRegistry functions, KafkaHealth kafka, RateQuotas quotas, Metrics metrics, Time clock,
      dev.conveyor.engine.tenancy.Placement placement, dev.conveyor.engine.tenancy.Backlog backlog, boolean checkQuotas,
      java.util.function.Function<String, java.util.Optional<dev.conveyor.engine.metering.BudgetLedger.State>> budgetRefusal) {
    this.budgetRefusal = budgetRefusal;
    this.placement = placement;
    this.checkQuotas = checkQuotas;
    this.backlog = backlog;
    this.quotas = quotas;
    this.metrics = metrics;
    this.functions = functions;
    this.kafka = kafka;
    this.clock = clock;
  }

  static void checkName(String what, String value) {
    if (value == null || !label(value, 0, value.length())) {
      throw ApiError.badRequest("invalid_name", "The " + what + " must be a DNS label: lower-case letters, digits and '-', at most 63.");
    }
  }

  /**
   * Whether {@code s[from, to)} is a DNS label, the grammar of
   * {@link dev.conveyor.engine.config.ConveyorConfig#NAME} that names are configured with: checked
   * char by char, as every invoke checks two names (the regular expression was 1% of an accept's CPU).
   */
  static boolean label(String s, int from, int to) {
    int n = to - from;
    if (n < 1 || n > 63 || s.charAt(from) == '-' || s.charAt(to - 1) == '-') return false;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-')) return false;
    }
    return true;
  }

  /** A function, or one of its Knative Service's tagged routes: {@code name@tag}, each a DNS label. */
  static boolean function(String fn) {
    if (fn == null) return false;
    int at = fn.indexOf('@');
    return at < 0 ? label(fn, 0, fn.length()) : label(fn, 0, at) && label(fn, at + 1, fn.length());
  }

  /** @throws ApiError when the request may not go on */
  public Admitted admit(RoutingContext ctx, String ns, String fn) {
    return admit(ctx, ns, fn, true);
  }

  /** {@code queues}: the invocation will be queued (async), so the tenant's {@code maxQueued} applies. */
  public Admitted admit(RoutingContext ctx, String ns, String fn, boolean queues) {
    Principal p = AuthHandler.require(ctx, Role.invoke);
    checkName("namespace", ns);
    if (!function(fn)) {
      throw ApiError.badRequest("invalid_name", "The function name must be a DNS label (lower-case letters, digits and '-', "
          + "at most 63), optionally with a Knative traffic tag: name@tag.");
    }
    if (!p.owns(ns)) {
      throw ApiError.forbidden("namespace_forbidden", "This credential may not invoke functions in namespace '" + ns + "'.");
    }
    FunctionTarget target = functions.find(ns, fn).orElseThrow(() -> ApiError.notFound("function_not_found",
        "No function '" + fn + "' in namespace '" + ns + "'; check the name or deploy it first."));
    Buffer body = RawBodyHandler.body(ctx);
    int size = body == null ? 0 : body.length();
    if (size > p.tenant().limits().maxPayloadBytes()) {
      throw new ApiError(413, "payload_too_large",
          "The payload is " + size + " bytes; this tenant's limit is " + p.tenant().limits().maxPayloadBytes() + ".");
    }
    long room = dev.conveyor.engine.config.ConfigLoader.memoryPerLane(p.tenant().limits());
    if (target.memoryMiB() > room) {
      throw new ApiError(403, "function_over_memory_limit", "Function '" + fn + "' needs " + target.memoryMiB()
          + " MiB; this tenant lets one invocation hold at most " + room + " MiB (maxMemoryInFlightMiB over its lanes). "
          + "Ask for a larger limit, or lower the function's memory.");
    }
    String callback = ctx.request().getHeader("x-callback-url");
    if (callback != null) checkCallback(p, callback);
    var spent = budgetRefusal.apply(p.tenant().name());
    if (spent.isPresent()) {
      var b = spent.get();
      metrics.rejected(p.tenant().name(), "budget");
      throw new ApiError(429, "budget_exhausted", "This tenant's " + (b.budget().period() == dev.conveyor.engine.config.ConveyorConfig.BudgetPeriod.day ? "daily" : "monthly")
          + " usage budget is spent until "
          + b.window().end() + "; new invocations are refused until then (accepted ones still run). Ask for a larger budget, "
          + "or retry after the Retry-After seconds.", b.window().secondsLeft(clock.now()));
    }
    var full = queues && checkQuotas ? backlog.full(p.tenant().name(), p.tenant().limits().maxQueued()) : java.util.OptionalLong.empty();
    if (full.isPresent()) {
      metrics.rejected(p.tenant().name(), "queued");
      throw new ApiError(429, "queue_full", "This tenant has " + p.tenant().limits().maxQueued()
          + " invocations queued and not finished (its maxQueued); retry after the Retry-After seconds.", full.getAsLong());
    }
    // Last of the caller's checks, so that a request refused for another reason spends no token.
    var wait = checkQuotas ? quotas.tryAcquire(p.tenant().name(), p.tenant().limits()) : java.util.OptionalLong.empty();
    if (wait.isPresent()) {
      metrics.rejected(p.tenant().name(), "rate");
      throw new ApiError(429, "rate_limited", "This tenant sends more than its " + p.tenant().limits().ratePerSecond()
          + " invocations per second (burst " + p.tenant().limits().burst() + "); retry after the Retry-After seconds.",
          wait.getAsLong());
    }
    if (!kafka.reachable()) {
      throw ApiError.unavailable("The queue is unavailable; nothing was stored. Retry later.");
    }
    return new Admitted(p, target, body, callback);
  }

  /** An accepted invocation now stored: it counts in its tenant's backlog until it ends. */
  public void stored(String tenant, String id) {
    if (checkQuotas) backlog.accepted(tenant, id);
  }

  /** A callback goes only to an http(s) URL on the tenant's allow-list: never to arbitrary hosts. */
  private static void checkCallback(Principal p, String url) {
    java.net.URI u;
    try {
      u = url.length() > 2048 ? null : java.net.URI.create(url);
    } catch (IllegalArgumentException e) {
      u = null;
    }
    if (u == null || u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
      throw ApiError.badRequest("invalid_callback_url", "X-Callback-Url must be an absolute http(s) URL of at most 2048 characters.");
    }
    if (!p.tenant().callbacks().allows(url)) {
      throw ApiError.forbidden("callback_not_allowed", "X-Callback-Url is not on this tenant's callback allow-list.");
    }
  }

  /** The invocation from the request: caller's ce-* and tracestate kept, the trace continued. */
  /**
   * @param traceparent the W3C context of the span that stores the invocation, or null to continue
   *     the caller's trace (or start one) without a span of Conveyor's own (tracing off)
   */
  public Invocation invocation(RoutingContext ctx, Admitted a, String idempotencyKey, String traceparent) {
    return invocation(ctx, a, idempotencyKey, traceparent, false);
  }

  /**
   * @param queued the invocation goes on the queue (an async accept): its id is derived from the
   *     idempotency key if there is one, else random and fenceable; a sync call's id is random
   */
  public Invocation invocation(RoutingContext ctx, Admitted a, String idempotencyKey, String traceparent, boolean queued) {
    var req = ctx.request();
    Map<String, String> pass = new LinkedHashMap<>();
    req.headers().forEach(h -> { // only the names passed on are lower-cased (a copy each)
      String name = h.getKey();
      if (name.regionMatches(true, 0, "ce-", 0, 3) || name.equalsIgnoreCase("tracestate")) {
        pass.put(name.toLowerCase(java.util.Locale.ROOT), h.getValue());
      }
    });
    if (traceparent == null) { // tracing off: continue the caller's trace, or start one
      String tp = req.getHeader("traceparent");
      traceparent = Tracing.mint(tp != null && TRACEPARENT.matcher(tp).matches()
          && !tp.startsWith("00-00000000000000000000000000000000") ? tp.substring(3, 35) : null);
    }
    String query = req.query();
    Instant now = clock.now();
    byte[] payload = a.body() == null ? new byte[0] : a.body().getBytes();
    String id = queued ? placement.acceptId(a.tenant(), a.target().namespace(), a.target().name(), idempotencyKey, now.toEpochMilli())
        : placement.newId(a.tenant(), a.target().namespace(), a.target().name(), now.toEpochMilli());
    return InvocationBuilder.builder().id(id).tenant(a.tenant()).namespace(a.target().namespace()).function(a.target().name())
        .contentType(req.getHeader("content-type")).payload(payload).query(query == null || query.isEmpty() ? null : query)
        .passHeaders(pass).acceptedAt(now).idempotencyKey(idempotencyKey).traceparent(traceparent).callbackUrl(a.callbackUrl())
        .trigger("http").build();
  }
}
