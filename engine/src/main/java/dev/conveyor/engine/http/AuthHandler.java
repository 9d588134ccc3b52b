package dev.conveyor.engine.http;

import dev.conveyor.engine.auth.JwtAuthenticator;
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
  private final JwtAuthenticator jwt;

  public AuthHandler(Tenants tenants) {
    this(tenants, null);
  }

  /** @param jwt null when only API keys are configured */
  public AuthHandler(Tenants tenants, JwtAuthenticator jwt) {
    this.tenants = tenants;
    this.jwt = jwt;
  }

  /**
   * The admission benchmark's baseline ({@code Runtime.withAdmissionChecksOffForBenchmark}): every
   * request is the first configured tenant with every role. Never built from config or environment.
   */
  public static io.vertx.core.Handler<RoutingContext> benchmarkAnyone(Tenants tenants) {
    return ctx -> {
      var first = tenants.names().stream().sorted().findFirst().flatMap(tenants::tenant).orElseThrow();
      ctx.put(KEY, new Principal(first, java.util.EnumSet.allOf(dev.conveyor.engine.config.ConveyorConfig.Role.class)));
      ctx.next();
    };
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
    String credential = h.substring(7).trim();
    Principal p = tenants.authenticate(credential).orElse(null);
    if (p != null) {
      ctx.put(KEY, p);
      ctx.next();
      return;
    }
    if (jwt != null && JwtAuthenticator.looksLikeJwt(credential)) {
      jwt.authenticate(credential).onComplete(ar -> {
        if (ar.succeeded()) {
          ctx.put(KEY, ar.result());
          ctx.next();
        } else {
          refuse(ctx, "invalid token: " + reason(ar.cause()), "The token is not valid (signature, issuer, audience, "
              + "expiry or tenant claim); get a new one from your identity provider.");
        }
      });
      return;
    }
    refuse(ctx, "unknown credential", "The credential is not valid; check the key or ask for a new one.");
  }

  /** A verification failure's reason for the audit line: one short line, never the token itself. */
  private static String reason(Throwable t) {
    String m = t == null || t.getMessage() == null ? "rejected" : t.getMessage().lines().findFirst().orElse("rejected");
    return m.length() > 120 ? m.substring(0, 120) : m;
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
