package dev.conveyor.engine.http;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationBuilder;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.deadletter.DeadLetterIndex;
import dev.conveyor.engine.deadletter.RecordFetcher;
import dev.conveyor.engine.queue.Enqueuer;
import dev.conveyor.engine.queue.InvocationCodec;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * {@code GET /v1/deadletters} and {@code POST /v1/deadletters/{id}:redrive}, role {@code admin},
 * the caller's tenant only. A redrive queues the dead-lettered payload and headers again as a new
 * invocation (attempts start over; the dead one keeps its terminal status and history), and
 * writes an audit line.
 */
public final class DeadLettersHandler {
  private static final Logger AUDIT = LoggerFactory.getLogger("conveyor.audit");

  private final DeadLetterIndex index;
  private final RecordFetcher fetcher;
  private final Enqueuer enqueuer;
  private final String topic;
  private final Time clock;

  private final dev.conveyor.engine.tenancy.Placement placement;

  public DeadLettersHandler(DeadLetterIndex index, RecordFetcher fetcher, Enqueuer enqueuer, String topic, Time clock,
      dev.conveyor.engine.tenancy.Placement placement) {
    this.placement = placement;
    this.index = index;
    this.fetcher = fetcher;
    this.enqueuer = enqueuer;
    this.topic = topic;
    this.clock = clock;
  }

  public void list(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.admin);
    int limit = 100;
    String l = ctx.request().getParam("limit");
    if (l != null) {
      try {
        limit = Integer.parseInt(l);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > 1000) throw ApiError.badRequest("invalid_limit", "limit must be a number from 1 to 1000.");
    }
    JsonArray items = new JsonArray();
    for (DeadLetterIndex.Entry e : index.list(p.tenant().name(), limit)) {
      items.add(new JsonObject()
          .put("id", e.id())
          .put("namespace", e.namespace())
          .put("function", e.function())
          .put("attempts", e.attempts())
          .put("httpStatus", e.httpStatus())
          .put("lastError", e.lastError())
          .put("deadLetteredAt", e.deadAt().toString()));
    }
    ctx.response().putHeader("content-type", "application/json").end(new JsonObject().put("deadletters", items).encode());
  }

  public void redrive(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.admin);
    String id = ctx.pathParam("param0");
    DeadLetterIndex.Entry e = index.find(p.tenant().name(), id)
        .orElseThrow(() -> ApiError.notFound("deadletter_not_found", "No dead letter with this id is known to your tenant."));
    String[] againId = {null};
    fetcher.fetch(topic, e.partition(), e.offset()).compose(rec -> {
      Invocation dead = InvocationCodec.decode(rec);
      Instant now = clock.now();
      // One write of a new random id, as an API accept: a lookup may settle an unknown outcome with a fence.
      againId[0] = placement.newAcceptId(dead.tenant(), dead.namespace(), dead.function(), now.toEpochMilli());
      Invocation again = InvocationBuilder.builder().id(againId[0]).tenant(dead.tenant()).namespace(dead.namespace())
          .function(dead.function()).contentType(dead.contentType()).payload(dead.payload()).query(dead.query())
          .passHeaders(dead.passHeaders()).acceptedAt(now).traceparent(dead.traceparent()).callbackUrl(dead.callbackUrl())
          .trigger(dead.trigger()).build();
      return enqueuer.enqueue(again);
    }).onSuccess(s -> {
      try {
        MDC.put("tenant", p.tenant().name());
        MDC.put("invocation_id", s.id());
        AUDIT.info("audit: redrive of dead letter {} as invocation {} ({}/{})", id, s.id(), s.namespace(), s.function());
      } finally {
        MDC.clear();
      }
      ctx.response().setStatusCode(202).putHeader("content-type", "application/json")
          .putHeader("location", "/v1/invocations/" + s.id())
          .end(new JsonObject().put("id", s.id()).put("status", "queued").put("namespace", s.namespace())
              .put("function", s.function()).put("acceptedAt", s.acceptedAt().toString()).put("redriveOf", id).encode());
    }).onFailure(err -> FailureHandler.send(ctx, dev.conveyor.engine.kafka.StoreFailure.of(err) == dev.conveyor.engine.kafka.StoreFailure.OUTCOME_UNKNOWN
        ? ApiError.storeFailed(err, againId[0], "redriven invocation")
        : ApiError.unavailable("The dead letter could not be queued again now; retry.")));
  }
}
