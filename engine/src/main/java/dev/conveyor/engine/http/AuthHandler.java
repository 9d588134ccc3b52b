package dev.conveyor.engine.http;

import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.tenancy.Tenants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Bearer credentials to a {@link Principal} on the routing context; 401 otherwise, with an audit
 * line ({@code conveyor.audit}: the reason, method, path and peer address; never the credential).
 */
public final class AuthHandler implements Handler<RoutingContext> {
  private static final String KEY = "conveyor.principal";
  private static final Logger AUDIT = LoggerFactory.getLogger("conveyor.audit");
  private final Tenants tenants;

  public AuthHandler(Tenants tenants) {
    this.tenants = tenants;
  }

  private static void refuse(RoutingContext ctx, String reason, String message) {
    var req = ctx.request();
    AUDIT.warn("authentication failed ({}): {} {} from {}", reason, req.method(), req.path(),
        req.remoteAddress() == null ? "unknown" : req.remoteAddress().hostAddress());
    ctx.fail(ApiError.unauthenticated(message));
  }

  @Override
  public void handle(RoutingContext ctx) {
    String h = ctx.request().getHeader("authorization");
    if (h == null || h.isBlank()) {
      refuse(ctx, "no credential", "Send Authorization: Bearer <api key>.");
      return;
    }
    if (h.length() < 8 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      refuse(ctx, "not a bearer credential", "Use the Bearer scheme: Authorization: Bearer <api key>.");
      return;
    }
    Principal p = tenants.authenticate(h.substring(7).trim()).orElse(null);
    if (p == null) {
      refuse(ctx, "unknown credential", "The credential is not valid; check the key or ask for a new one.");
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
