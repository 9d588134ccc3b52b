package dev.conveyor.engine.http;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.metering.UsageRollups;
import dev.conveyor.engine.metering.UsageTotals;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code GET /v1/usage?from=&to=&groupBy=function|hour}: the caller's tenant's usage from the
 * hourly rollups (role {@code usage}), never another tenant's. {@code from}/{@code to} are RFC 3339
 * instants, cut to whole hours ({@code from} down, {@code to} up; default: the last 24 hours), at
 * most 400 days apart. Rows by hour (summed over functions) or by function (summed over hours),
 * and the total.
 */
public final class UsageHandler {
  private static final Duration MAX_RANGE = Duration.ofDays(400);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> DELTA_FIELDS = Set.of("invocations", "attempts", "success", "error",
      "timeout", "billedDurationMs", "gibSeconds", "coldStarts", "requestBytes", "responseBytes");
  private final UsageRollups rollups;
  private final dev.conveyor.engine.metering.UsageAdjustments adjustments;
  private final dev.conveyor.engine.status.StatusStore status;
  private final Time clock;
  private final dev.conveyor.engine.metering.BudgetLedger budgets;

  public UsageHandler(UsageRollups rollups, dev.conveyor.engine.metering.UsageAdjustments adjustments,
      dev.conveyor.engine.status.StatusStore status, Time clock, dev.conveyor.engine.metering.BudgetLedger budgets) {
    this.budgets = budgets;
    this.rollups = rollups;
    this.adjustments = adjustments;
    this.status = status;
    this.clock = clock;
  }

  /**
   * {@code POST /v1/usage/adjustments} (role {@code admin}): {@code {"originalId": "<usage id>",
   * "action": "void" | "delta", "delta": {...}, "reason": "...", "id": "<optional, for retries>"}}.
   * The original must be one of the caller's tenant's usage records whose invocation is still known.
   * 202 {@code {"id": "adjustment:<id>"}} once stored (the given id, or a random one, prefixed so it can
   * never be a usage record's); rollups apply it within about a second.
   */
  public void adjust(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.admin);
    var raw = RawBodyHandler.body(ctx);
    JsonObject req;
    try {
      req = raw == null ? null : new JsonObject(raw);
    } catch (RuntimeException e) {
      req = null;
    }
    if (req == null) throw ApiError.badRequest("invalid_json", "Send a JSON object: {\"originalId\", \"action\": \"void\" or \"delta\"}.");
    String originalId = req.getValue("originalId") instanceof String s ? s : null;
    String action = req.getValue("action") instanceof String s ? s : null;
    if (originalId == null || !originalId.matches("[0-9a-f-]{36}:[1-9][0-9]{0,4}")) {
      throw ApiError.badRequest("invalid_original_id", "originalId is a usage record's id: <invocation id>:<attempt>.");
    }
    if (!"void".equals(action) && !"delta".equals(action)) {
      throw ApiError.badRequest("invalid_action", "action is 'void' (the record counts for nothing) or 'delta' (amounts to add).");
    }
    ObjectNode delta = null;
    if ("delta".equals(action)) {
      JsonObject d = req.getValue("delta") instanceof JsonObject o ? o : null;
      if (d == null || d.isEmpty() || !DELTA_FIELDS.containsAll(d.fieldNames()) || !d.fieldNames().stream().allMatch(f -> amount(f, d.getValue(f)))) {
        throw ApiError.badRequest("invalid_delta", "delta holds amounts to add, among " + new TreeSet<>(DELTA_FIELDS)
            + ": whole numbers, gibSeconds a decimal string.");
      }
      delta = JSON.valueToTree(d.getMap());
    }
    String invocationId = originalId.substring(0, originalId.indexOf(':'));
    var known = status.get(invocationId).map(dev.conveyor.engine.status.StatusStore.Entry::status).orElse(null);
    if (known == null || !known.tenant().equals(p.tenant().name())) {
      throw ApiError.notFound("usage_record_not_found", "No usage record with this id is known to your tenant.");
    }
    Object given = req.getValue("id");
    if (given != null && !(given instanceof String g && g.matches("[A-Za-z0-9._-]{1,128}"))) {
      throw ApiError.badRequest("invalid_id", "id (to retry safely) is 1-128 letters, digits, '.', '_' or '-'.");
    }
    // Prefixed, so a correction can never take the id of a usage record (<invocation>:<attempt>) and hide it.
    String id = "adjustment:" + (given != null ? given : java.util.UUID.randomUUID());
    String reason = req.getValue("reason") instanceof String s ? s.substring(0, Math.min(s.length(), 500)) : null;
    adjustments.write(id, p.tenant().name(), originalId, action, delta, reason)
        .onSuccess(v -> ctx.response().setStatusCode(202).putHeader("content-type", "application/json")
            .end(new JsonObject().put("id", id).encode()))
        .onFailure(err -> FailureHandler.send(ctx, ApiError.unavailable("The adjustment could not be stored; retry with the same id.")));
  }

  public void get(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.usage);
    Instant now = clock.now();
    Instant to = instant(ctx, "to", now).truncatedTo(ChronoUnit.HOURS);
    if (to.isBefore(instant(ctx, "to", now))) to = to.plus(Duration.ofHours(1));
    Instant from = instant(ctx, "from", to.minus(Duration.ofHours(24))).truncatedTo(ChronoUnit.HOURS);
    if (!from.isBefore(to)) throw ApiError.badRequest("invalid_range", "'from' must be before 'to'.");
    if (Duration.between(from, to).compareTo(MAX_RANGE) > 0) {
      throw ApiError.badRequest("invalid_range", "At most 400 days at once; ask for several ranges.");
    }
    String groupBy = ctx.request().getParam("groupBy", "hour");
    if (!groupBy.equals("hour") && !groupBy.equals("function")) {
      throw ApiError.badRequest("invalid_group_by", "groupBy is 'hour' or 'function'.");
    }
    Map<String, UsageTotals> groups = new LinkedHashMap<>();
    Map<String, JsonObject> labels = new LinkedHashMap<>();
    UsageTotals total = UsageTotals.ZERO;
    for (UsageRollups.Row row : rollups.rows(p.tenant().name(), from, to).values()) {
      String g = groupBy.equals("hour") ? row.hour().toString() : row.namespace() + "/" + row.function();
      groups.merge(g, row.totals(), UsageTotals::plus);
      labels.computeIfAbsent(g, k -> groupBy.equals("hour") ? new JsonObject().put("hour", row.hour().toString())
          : new JsonObject().put("namespace", row.namespace()).put("function", row.function()));
      total = total.plus(row.totals());
    }
    JsonArray rows = new JsonArray();
    groups.forEach((g, t) -> rows.add(labels.get(g).copy().mergeIn(new JsonObject(t.toJson().toString()))));
    JsonObject body = new JsonObject().put("tenant", p.tenant().name()).put("from", from.toString()).put("to", to.toString())
        .put("groupBy", groupBy).put("rows", rows).put("total", new JsonObject(total.toJson().toString()))
        .put("budgets", budgets(p.tenant().name()));
    ctx.response().putHeader("content-type", "application/json").end(body.encode());
  }

  /**
   * The tenant's budgets in their current periods: the limit, what is used and what is left (never
   * below 0), the fraction used, and whether the budget is spent and refuses new invocations.
   */
  private JsonArray budgets(String tenant) {
    JsonArray out = new JsonArray();
    for (var s : budgets.states(tenant)) {
      var b = s.budget();
      JsonObject limit = new JsonObject();
      JsonObject used = new JsonObject().put("gibSeconds", s.gibSeconds().toPlainString()).put("invocations", s.invocations());
      JsonObject left = new JsonObject();
      if (b.gibSeconds() != null) {
        limit.put("gibSeconds", b.gibSeconds().toPlainString());
        left.put("gibSeconds", b.gibSeconds().subtract(s.gibSeconds()).max(java.math.BigDecimal.ZERO).toPlainString());
      }
      if (b.invocations() != null) {
        limit.put("invocations", b.invocations());
        left.put("invocations", Math.max(0, b.invocations() - s.invocations()));
      }
      out.add(new JsonObject().put("period", b.period().name()).put("timeZone", b.timeZone())
          .put("periodStart", s.window().start().toString()).put("periodEnd", s.window().end().toString())
          .put("limit", limit).put("used", used).put("left", left).put("usedRatio", s.usedRatio())
          .put("alertAt", new JsonArray(b.alertAt())).put("enforce", b.enforce()).put("exhausted", s.spent())
          .put("refusing", s.refuses()));
    }
    return out;
  }

  private static boolean amount(String field, Object v) {
    if (field.equals("gibSeconds")) return v instanceof String str && str.matches("-?\\d+(\\.\\d+)?");
    return v instanceof Integer || v instanceof Long;
  }

  private static Instant instant(RoutingContext ctx, String name, Instant dflt) {
    String v = ctx.request().getParam(name);
    if (v == null || v.isBlank()) return dflt;
    try {
      return Instant.parse(v);
    } catch (DateTimeParseException e) {
      // The codes as literals: the OpenAPI contract test collects them from the source.
      throw ApiError.badRequest(name.equals("from") ? "invalid_from" : "invalid_to", "'" + name + "' is an RFC 3339 instant such as 2026-11-27T00:00:00Z.");
    }
  }
}
