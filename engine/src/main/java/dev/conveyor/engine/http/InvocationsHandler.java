package dev.conveyor.engine.http;

import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/** Status, result and cancel of one invocation. Another tenant's id is 404, never 403. */
public final class InvocationsHandler {
  private static final Pattern ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  private final StatusStore store;
  private final Supplier<Instant> clock;

  public InvocationsHandler(StatusStore store, Supplier<Instant> clock) {
    this.store = store;
    this.clock = clock;
  }

  private StatusStore.Entry find(RoutingContext ctx, Principal p) {
    String id = ctx.pathParam("id");
    if (id == null || !ID.matcher(id).matches()) {
      throw ApiError.badRequest("invalid_id", "Invocation ids look like 2f1c...-...: use the id from the 202 answer.");
    }
    StatusStore.Entry e = store.get(id).orElse(null);
    if (e == null || !e.status().tenant().equals(p.tenant().name())) {
      throw ApiError.notFound("invocation_not_found", "No invocation with this id is known to your tenant.");
    }
    return e;
  }

  public void status(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.read);
    json(ctx, 200, find(ctx, p).status());
  }

  public void result(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.read);
    StatusStore.Entry e = find(ctx, p);
    if (!e.status().status().terminal()) {
      json(ctx, 202, e.status());
      return;
    }
    StoredResult r = e.result();
    if (r == null) {
      throw ApiError.notFound("result_not_found",
          "The invocation ended '" + e.status().status() + "' without a function response; see its status for the error.");
    }
    var resp = ctx.response().setStatusCode(200).putHeader("x-function-status", Integer.toString(r.httpStatus()));
    if (r.contentType() != null) resp.putHeader("content-type", r.contentType());
    resp.end(Buffer.buffer(r.body()));
  }

  public void cancel(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.invoke);
    InvocationStatus s = find(ctx, p).status();
    if (s.status().terminal()) {
      json(ctx, 409, s);
      return;
    }
    // A running attempt is not interrupted; no further attempt starts. Should the attempt finish
    // first, its outcome is what the status topic holds first, on every replica alike.
    store.write(s.end(InvocationState.cancelled, clock.get(), "cancelled by the caller"), null)
        .onSuccess(c -> json(ctx, 200, c))
        .onFailure(err -> FailureHandler.send(ctx, ApiError.unavailable("The cancel could not be stored; retry.")));
  }

  private static void json(RoutingContext ctx, int status, InvocationStatus s) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(StatusJson.of(s).encode());
  }
}
