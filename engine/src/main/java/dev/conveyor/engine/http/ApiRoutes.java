package dev.conveyor.engine.http;

import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;

/**
 * The one place that orders the HTTP handler chain; production, tests and benchmarks all build
 * the API through it. Per route: authenticate, then (for writes) read the body within the limit,
 * then the route's handler; every failure ends in the {@link FailureHandler}.
 */
public final class ApiRoutes {
  private ApiRoutes() {}

  public static Router router(Vertx vertx, io.vertx.core.Handler<io.vertx.ext.web.RoutingContext> auth, AcceptHandler accept, SyncHandler sync,
      InvocationsHandler invocations, DeadLettersHandler deadLetters, UsageHandler usage,
      io.vertx.core.Handler<io.vertx.ext.web.RoutingContext> events) {
    Chain c = accepting(vertx, auth, accept);
    Router r = c.router();
    r.post("/v1/namespaces/:ns/functions/:fn").handler(c.body()).handler(sync);
    r.post("/v1/namespaces/:ns/events").handler(c.body()).handler(events);
    r.get("/v1/invocations/:id").handler(invocations::status);
    r.get("/v1/invocations/:id/result").handler(invocations::result);
    r.delete("/v1/invocations/:id").handler(invocations::cancel);
    r.get("/v1/deadletters").handler(deadLetters::list);
    r.get("/v1/usage").handler(usage::get);
    r.post("/v1/usage/adjustments").handler(c.body()).handler(usage::adjust);
    r.postWithRegex("/v1/deadletters/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):redrive")
        .handler(deadLetters::redrive);
    return r;
  }

  /** The async accept routes alone, with the same chain as {@link #router}: what the warm-up drives. */
  public static Router acceptOnly(Vertx vertx, io.vertx.core.Handler<io.vertx.ext.web.RoutingContext> auth, AcceptHandler accept) {
    return accepting(vertx, auth, accept).router();
  }

  private record Chain(Router router, RawBodyHandler body) {}

  private static Chain accepting(Vertx vertx, io.vertx.core.Handler<io.vertx.ext.web.RoutingContext> auth, AcceptHandler accept) {
    FailureHandler failure = new FailureHandler();
    Router r = Router.router(vertx);
    // Failure handlers run in the order their routes were made: the accept routes' count first.
    r.post("/v1/namespaces/:ns/functions/:fn/invocations").failureHandler(accept::failed);
    r.post("/async-function/:fn").failureHandler(accept::failed);
    r.route().failureHandler(failure);
    r.route("/v1/*").handler(auth);
    r.route("/async-function/*").handler(auth);
    // Read within the caller's tenant limit (authentication comes first), never above what a record holds.
    RawBodyHandler body = new RawBodyHandler(ctx -> AuthHandler.principal(ctx).tenant().limits().maxPayloadBytes());
    r.post("/v1/namespaces/:ns/functions/:fn/invocations").handler(body).handler(accept);
    r.post("/async-function/:fn").handler(body).handler(accept::openFaas);
    for (int status : new int[] {400, 404, 405, 413, 431, 500}) {
      r.errorHandler(status, ctx -> {
        if (ctx.failure() instanceof ApiError e) FailureHandler.send(ctx, e);
        else failure.handle(ctx);
      });
    }
    return new Chain(r, body);
  }
}
