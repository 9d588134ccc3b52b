package dev.conveyor.engine.auth;

import dev.conveyor.engine.config.ConveyorConfig.Jwt;
import dev.conveyor.engine.config.ConveyorConfig.PublicKey;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JWT bearer tokens from the company's IAM (vertx-auth-jwt): the signature must verify against the
 * configured public keys or the IAM's JWKS, {@code iss} and {@code aud} must match, {@code exp}
 * must lie ahead (30 s leeway for clock skew). The tenant comes from {@code tenantClaim} and must be
 * a configured tenant (its namespaces and limits are the config's); roles from {@code rolesClaim},
 * unknown role names ignored. The JWKS is fetched at start and every {@code jwksRefresh}: when the
 * IAM is unreachable the last keys stay in use, and API keys keep working either way.
 */
public final class JwtAuthenticator implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(JwtAuthenticator.class);

  private final Vertx vertx;
  private final dev.conveyor.engine.time.Time time;
  private final Jwt config;
  private final Function<String, Optional<Tenant>> tenants;
  private final WebClient http;
  private final long refreshTimer;
  private volatile JWTAuth provider;

  public JwtAuthenticator(Vertx vertx, dev.conveyor.engine.time.Time time, Jwt config, Function<String, Optional<Tenant>> tenants) {
    this.vertx = vertx;
    this.time = time;
    this.config = config;
    this.tenants = tenants;
    this.provider = build(List.of());
    if (config.jwksUrl() != null) {
      this.http = WebClient.create(vertx, new WebClientOptions().setConnectTimeout(5000).setIdleTimeout(30));
      this.refreshTimer = time.setPeriodic(config.jwksRefresh().toMillis(), this::refresh);
    } else {
      this.http = null;
      this.refreshTimer = -1;
    }
  }

  /** Fetches the JWKS now (start-up waits for it, bounded); failures keep the keys there are. */
  public Future<Void> refresh() {
    if (http == null) return Future.succeededFuture();
    return http.getAbs(config.jwksUrl()).timeout(5000).send().map(resp -> {
      if (resp.statusCode() != 200) throw new IllegalStateException("JWKS answered " + resp.statusCode());
      JsonArray keys = resp.bodyAsJsonObject().getJsonArray("keys");
      if (keys == null || keys.isEmpty()) throw new IllegalStateException("JWKS without keys");
      List<JsonObject> jwks = new ArrayList<>();
      for (Object k : keys) if (k instanceof JsonObject o && "sig".equals(o.getString("use", "sig"))) jwks.add(o);
      provider = build(jwks);
      return (Void) null;
    }).onFailure(err -> LOG.warn("fetching the JWKS from {} failed ({}); the last keys stay in use", config.jwksUrl(),
        err.getMessage()));
  }

  private JWTAuth build(List<JsonObject> jwks) {
    JWTAuthOptions o = new JWTAuthOptions().setJWTOptions(new JWTOptions().setIssuer(config.issuer())
        .setAudience(List.of(config.audience())).setLeeway(30));
    for (PublicKey k : config.publicKeys()) o.addPubSecKey(new PubSecKeyOptions().setAlgorithm(k.algorithm()).setBuffer(k.pem()));
    jwks.forEach(o::addJwk);
    return JWTAuth.create(vertx, o);
  }

  /** Whether a bearer credential looks like a JWT (three base64url parts), not an API key. */
  public static boolean looksLikeJwt(String credential) {
    int first = credential.indexOf('.');
    return first > 0 && credential.indexOf('.', first + 1) > first + 1 && credential.length() <= 16 * 1024;
  }

  /** The principal of a valid token; a failed future (reason in its message, never the token) otherwise. */
  public Future<Principal> authenticate(String token) {
    return provider.authenticate(new TokenCredentials(token)).compose(user -> {
      // vertx-auth-jwt keeps the decoded payload under the user's attributes; the principal holds the raw token.
      JsonObject claims = user.attributes().getJsonObject("accessToken", user.principal());
      // vertx-auth-jwt checks exp, iss and aud; a token without exp never expires there, so it is refused here.
      if (!claims.containsKey("exp")) return Future.failedFuture("the token has no expiry");
      Object t = claims.getValue(config.tenantClaim());
      Tenant tenant = t instanceof String name ? tenants.apply(name).orElse(null) : null;
      if (tenant == null) return Future.failedFuture("the token's " + config.tenantClaim() + " claim names no tenant");
      Set<Role> roles = EnumSet.noneOf(Role.class);
      Object r = claims.getValue(config.rolesClaim());
      if (r instanceof JsonArray arr) {
        for (Object each : arr) {
          for (Role role : Role.values()) if (role.name().equals(each)) roles.add(role);
        }
      } else if (r instanceof String s) {
        for (String each : s.split("[ ,]+")) for (Role role : Role.values()) if (role.name().equals(each)) roles.add(role);
      }
      return Future.succeededFuture(new Principal(tenant, Set.copyOf(roles)));
    });
  }

  @Override
  public void close() {
    if (refreshTimer >= 0) time.cancelTimer(refreshTimer);
    if (http != null) http.close();
  }
}
