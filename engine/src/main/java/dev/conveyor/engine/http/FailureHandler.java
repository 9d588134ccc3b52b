package dev.conveyor.engine.http;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where failures become HTTP answers: JSON {@code {"error","message"}}, never a
 * stack trace, a payload or a credential. Unexpected exceptions are logged by class only and
 * answered 500.
 */
public final class FailureHandler implements Handler<RoutingContext> {
  private static final Logger LOG = LoggerFactory.getLogger(FailureHandler.class);

  @Override
  public void handle(RoutingContext ctx) {
    Throwable t = ctx.failure();
    ApiError e;
    if (t instanceof ApiError api) {
      e = api;
    } else {
      e = switch (ctx.statusCode()) {
        case 400 -> ApiError.badRequest("malformed_request", "The request could not be read; check its headers and body.");
        case 401 -> ApiError.unauthenticated("Send Authorization: Bearer <api key>.");
        case 404 -> ApiError.notFound("not_found", "No such route; see the API reference in docs/api.md.");
        case 405 -> new ApiError(405, "method_not_allowed", "This route does not take that method.");
        case 413 -> new ApiError(413, "payload_too_large", "The body is over the size limit; send a smaller payload.");
        default -> {
          if (t != null) LOG.error("unexpected failure on {} {}: {}", ctx.request().method(), ctx.normalizedPath(), t.getClass().getName());
          yield new ApiError(500, "internal_error", "Something went wrong on our side; retry later.");
        }
      };
    }
    send(ctx, e);
  }

  public static void send(RoutingContext ctx, ApiError e) {
    var resp = ctx.response();
    if (resp.ended() || resp.headWritten()) {
      if (!resp.ended()) resp.reset();
      return;
    }
    resp.setStatusCode(e.status()).putHeader("content-type", "application/json");
    if (e.retryAfterSeconds() != null) resp.putHeader("retry-after", Long.toString(e.retryAfterSeconds()));
    if (e.status() == 401) resp.putHeader("www-authenticate", "Bearer");
    JsonObject body = new JsonObject().put("error", e.code()).put("message", e.getMessage());
    if (e.invocationId() != null) body.put("id", e.invocationId());
    resp.end(body.encode());
  }
}
