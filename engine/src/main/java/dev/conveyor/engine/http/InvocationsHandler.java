package dev.conveyor.engine.http;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.queue.QueueLookup;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.regex.Pattern;

/** Status, result and cancel of one invocation. Another tenant's id is 404, never 403. */
public final class InvocationsHandler {
  private static final Pattern ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  private final StatusStore store;
  private final QueueLookup queue;
  private final Time clock;

  public InvocationsHandler(StatusStore store, QueueLookup queue, Time clock) {
    this.store = store;
    this.queue = queue;
    this.clock = clock;
  }

  /**
   * The caller's invocation: from the status cache, or, when this replica has not seen it, from
   * the queue (accepted elsewhere, not started yet). Another tenant's id is 404.
   */
  private Future<StatusStore.Entry> find(RoutingContext ctx, Principal p) {
    String id = ctx.pathParam("id");
    if (id == null || !ID.matcher(id).matches()) {
      throw ApiError.badRequest("invalid_id", "Invocation ids look like 2f1c...-...: use the id from the 202 answer.");
    }
    Future<StatusStore.Entry> known = store.get(id).map(Future::succeededFuture).orElseGet(() ->
        queue.find(id, p.tenant().name()).compose(found -> {
          if (found instanceof QueueLookup.Finished) {
            // Behind the dispatchers' committed offset: its outcome was stored before the commit, so
            // its status is on the status topic, and may be a moment from this replica's reader.
            return statusSoon(ctx.vertx(), id, STATUS_SOON_MS).map(e -> {
              if (e == null) throw ApiError.notFound("invocation_not_found", "This invocation finished and its status is no longer kept.");
              return e;
            });
          }
          if (found instanceof QueueLookup.Voided) throw notStored();
          if (!(found instanceof QueueLookup.Queued q)) return Future.succeededFuture(null);
          store.apply(InvocationStatus.queued(q.invocation()), null);
          return Future.succeededFuture(store.get(id).orElse(new StatusStore.Entry(InvocationStatus.queued(q.invocation()), null)));
        }));
    return known.transform(ar -> {
      if (ar.failed() && ar.cause() instanceof ApiError e) return Future.failedFuture(e);
      if (ar.failed()) return Future.failedFuture(ApiError.unavailable("The invocation could not be looked up now; retry."));
      StatusStore.Entry e = ar.result();
      if (e != null && e.status().status() == InvocationState.voided) return Future.failedFuture(notStored());
      if (e == null || !e.status().tenant().equals(p.tenant().name())) {
        return Future.failedFuture(ApiError.notFound("invocation_not_found", dev.conveyor.engine.api.InvocationIds.derived(id)
            ? "No invocation with this id is stored now. If its request was answered store_outcome_unknown, send it again "
                + "with the same Idempotency-Key: it runs once, whether or not the first write landed."
            : "No invocation with this id is known to your tenant."));
      }
      return Future.succeededFuture(e);
    });
  }

  /** How long a lookup waits for the status of an invocation found behind the committed offset. */
  static final long STATUS_SOON_MS = 2_000;

  /** The id's status as soon as this replica's status reader has it; null if it has not within {@code ms}. */
  private Future<StatusStore.Entry> statusSoon(io.vertx.core.Vertx vertx, String id, long ms) {
    io.vertx.core.Context ctx = vertx.getOrCreateContext();
    io.vertx.core.Promise<StatusStore.Entry> p = io.vertx.core.Promise.promise();
    Runnable forget = store.await(id, st -> true, e -> dev.conveyor.engine.futures.Futures.completeOn(ctx, () -> p.tryComplete(e)));
    Runnable timer = clock.deadline(ms, () -> p.tryComplete(store.get(id).orElse(null)));
    return p.future().onComplete(ar -> {
      forget.run();
      timer.run();
    });
  }

  /** A fence settled the id: the write whose outcome was unknown never reached the queue, and never will run. */
  private static ApiError notStored() {
    return ApiError.notFound("invocation_not_stored", "This invocation was never stored and will never run (its write's "
        + "outcome was unknown, and it did not reach the queue). Send it again.");
  }

  public void status(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.read);
    find(ctx, p).onSuccess(e -> json(ctx, 200, e.status())).onFailure(ctx::fail);
  }

  public void result(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.read);
    find(ctx, p).onSuccess(e -> result(ctx, e)).onFailure(ctx::fail);
  }

  private void result(RoutingContext ctx, StatusStore.Entry e) {
    if (!e.status().status().terminal()) {
      json(ctx, 202, e.status());
      return;
    }
    StoredResult r = e.result();
    if (r == null) {
      ctx.fail(ApiError.notFound("result_not_found",
          "The invocation ended '" + e.status().status() + "' without a function response; see its status for the error."));
      return;
    }
    var resp = ctx.response().setStatusCode(200).putHeader("x-function-status", Integer.toString(r.httpStatus()));
    if (r.contentType() != null) resp.putHeader("content-type", r.contentType());
    resp.end(Buffer.buffer(r.body()));
  }

  public void cancel(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.invoke);
    find(ctx, p).onSuccess(e -> cancel(ctx, e.status())).onFailure(ctx::fail);
  }

  private void cancel(RoutingContext ctx, InvocationStatus s) {
    if (s.status().terminal()) {
      json(ctx, 409, s);
      return;
    }
    // A running attempt is not interrupted; no further attempt starts. Should the attempt finish
    // first, its outcome is what the status topic holds first, on every replica alike.
    store.write(s.end(InvocationState.cancelled, clock.now(), "cancelled by the caller"), null)
        .onSuccess(c -> json(ctx, 200, c))
        .onFailure(err -> FailureHandler.send(ctx, ApiError.unavailable("The cancel could not be stored; retry.")));
  }

  private static void json(RoutingContext ctx, int status, InvocationStatus s) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(StatusJson.of(s).encode());
  }
}
