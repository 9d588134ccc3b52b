package dev.conveyor.engine.http;

import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/** Bearer credentials to a {@link Principal} on the routing context; 401 otherwise. */
public final class AuthHandler implements Handler<RoutingContext> {
  private static final String KEY = "conveyor.principal";
  private final ApiKeyAuthenticator apiKeys;

  public AuthHandler(ApiKeyAuthenticator apiKeys) {
    this.apiKeys = apiKeys;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String h = ctx.request().getHeader("authorization");
    if (h == null || h.isBlank()) {
      ctx.fail(ApiError.unauthenticated("Send Authorization: Bearer <api key>."));
      return;
    }
    if (h.length() < 8 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.fail(ApiError.unauthenticated("Use the Bearer scheme: Authorization: Bearer <api key>."));
      return;
    }
    Principal p = apiKeys.authenticate(h.substring(7).trim()).orElse(null);
    if (p == null) {
      ctx.fail(ApiError.unauthenticated("The credential is not valid; check the key or ask for a new one."));
      return;
    }
    ctx.put(KEY, p);
    ctx.next();
  }

  public static Principal principal(RoutingContext ctx) {
    return ctx.get(KEY);
  }

  /** The caller's principal, if it has {@code role}; else a 403 naming the role. */
  public static Principal require(RoutingContext ctx, Role role) {
    Principal p = principal(ctx);
    if (!p.has(role)) {
      throw ApiError.forbidden("missing_role", "This credential lacks the '" + role + "' role.");
    }
    return p;
  }
}
