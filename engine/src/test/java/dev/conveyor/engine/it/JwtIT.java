package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.LogCapture;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.math.BigInteger;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * JWT bearer tokens from an IAM beside local API keys: valid tokens work with the tenant and roles
 * of their claims; missing, malformed, expired, wrong-issuer, wrong-audience, forged and
 * unknown-tenant tokens are 401 and audited without the token; keys from a JWKS URL keep working
 * when the IAM goes down, and so do API keys.
 */
@Beside
class JwtIT {
  private static final String ISSUER = "https://iam.example.test/";
  private static final String AUDIENCE = "conveyor";
  static Vertx vertx;
  static KeyPair iam;
  static KeyPair attacker;

  @BeforeAll
  static void keys() throws Exception {
    vertx = Vertx.vertx();
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    iam = g.generateKeyPair();
    attacker = g.generateKeyPair();
  }

  @AfterAll
  static void close() {
    vertx.close();
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der) + "\n-----END " + type + "-----\n";
  }

  private static JWTAuth signer(KeyPair keys) {
    return JWTAuth.create(vertx, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm("RS256").setId("k1")
        .setBuffer(pem("PRIVATE KEY", keys.getPrivate().getEncoded()))));
  }

  private static String token(KeyPair keys, String issuer, String audience, int expiresIn, JsonObject claims) {
    JWTOptions o = new JWTOptions().setAlgorithm("RS256").setIssuer(issuer).setAudience(List.of(audience));
    if (expiresIn > 0) o.setExpiresInSeconds(expiresIn);
    return signer(keys).generateToken(claims, o);
  }

  private static JsonObject acme(String... roles) {
    return new JsonObject().put("sub", "alice").put("tenant", "acme").put("roles", new JsonArray(List.of((Object[]) roles)));
  }

  private static HttpResponse<String> invoke(Http http, String token) {
    return http.send(http.request("/v1/namespaces/acme/functions/echo/invocations", null)
        .header("authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.ofString("{}")).build());
  }

  @Test
  void tokensSignedByTheConfiguredKeyWorkAndEveryBadOneIs401() {
    String publicPem = pem("PUBLIC KEY", iam.getPublic().getEncoded());
    String auth = """
        auth:
          jwt:
            issuer: "%s"
            audience: "%s"
            publicKeys: [ { algorithm: RS256, pem: "%s" } ]
        """.formatted(ISSUER, AUDIENCE, publicPem.replace("\n", "\\n"));
    try (LogCapture log = new LogCapture();
         FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("jwt"),
             "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", auth))) {
      Http http = new Http(gw.httpPort());
      String good = token(iam, ISSUER, AUDIENCE, 300, acme("invoke", "read"));
      HttpResponse<String> ok = invoke(http, good);
      assertThat(ok.statusCode()).isEqualTo(202);
      String id = new JsonObject(ok.body()).getString("id");
      assertThat(http.send(http.request("/v1/invocations/" + id, null).header("authorization", "Bearer " + good).GET().build())
          .statusCode()).isEqualTo(200);
      assertThat(http.invoke(ACME_KEY, "acme", "echo", "{}").statusCode()).as("API keys still work").isEqualTo(202);

      String expired = token(iam, ISSUER, AUDIENCE, 0, acme("invoke").put("exp", System.currentTimeMillis() / 1000 - 600));
      String noExpiry = token(iam, ISSUER, AUDIENCE, 0, acme("invoke"));
      String wrongIssuer = token(iam, "https://evil.example.test/", AUDIENCE, 300, acme("invoke"));
      String wrongAudience = token(iam, ISSUER, "someone-else", 300, acme("invoke"));
      String forged = token(attacker, ISSUER, AUDIENCE, 300, acme("invoke"));
      String unknownTenant = token(iam, ISSUER, AUDIENCE, 300, acme("invoke").put("tenant", "initech"));
      String[] parts = good.split("\\.");
      String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
          acme("invoke", "admin").put("iss", ISSUER).put("aud", AUDIENCE).put("exp", 4_000_000_000L).encode().getBytes()) + "." + parts[2];
      for (String bad : List.of(expired, noExpiry, wrongIssuer, wrongAudience, forged, unknownTenant, tampered, "abc.def.ghi")) {
        HttpResponse<String> r = invoke(http, bad);
        assertThat(r.statusCode()).as(bad.substring(0, Math.min(40, bad.length()))).isEqualTo(401);
        assertThat(new JsonObject(r.body()).getString("error")).isEqualTo("unauthenticated");
      }
      HttpResponse<String> readOnly = invoke(http, token(iam, ISSUER, AUDIENCE, 300, acme("read")));
      assertThat(readOnly.statusCode()).as("roles come from the token").isEqualTo(403);
      assertThat(new JsonObject(readOnly.body()).getString("error")).isEqualTo("missing_role");

      assertThat(log.lines().stream().filter(l -> l.getString("message").startsWith("authentication failed (invalid token")).count())
          .isGreaterThanOrEqualTo(8);
      assertThat(log.text()).doesNotContain(forged).doesNotContain(expired.substring(expired.lastIndexOf('.')));
    }
  }

  @Test
  void keysFromTheJwksUrlKeepWorkingWhenTheIamIsDown() throws Exception {
    RSAPublicKey pub = (RSAPublicKey) iam.getPublic();
    JsonObject jwk = new JsonObject().put("kty", "RSA").put("alg", "RS256").put("use", "sig").put("kid", "k1")
        .put("n", b64(pub.getModulus())).put("e", b64(pub.getPublicExponent()));
    AtomicBoolean up = new AtomicBoolean(true);
    HttpServer jwks = vertx.createHttpServer().requestHandler(req -> {
      if (!up.get()) {
        req.response().setStatusCode(503).end();
        return;
      }
      req.response().putHeader("content-type", "application/json").end(new JsonObject().put("keys", new JsonArray().add(jwk)).encode());
    });
    jwks.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    String auth = """
        auth:
          jwt: { issuer: "%s", audience: "%s", jwksUrl: "http://127.0.0.1:%d/jwks", jwksRefresh: PT1S }
        """.formatted(ISSUER, AUDIENCE, jwks.actualPort());
    try (FunctionServer fn = new FunctionServer();
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("jwks"),
             "- { namespace: acme, name: echo, url: \"" + fn.url("/echo") + "\" }", auth))) {
      Http http = new Http(gw.httpPort());
      String good = token(iam, ISSUER, AUDIENCE, 300, acme("invoke"));
      assertThat(invoke(http, good).statusCode()).isEqualTo(202);
      assertThat(invoke(http, token(attacker, ISSUER, AUDIENCE, 300, acme("invoke"))).statusCode()).isEqualTo(401);
      up.set(false);
      // Several refreshes fail while the IAM is down; the keys fetched before stay in use.
      org.awaitility.Awaitility.await().pollDelay(java.time.Duration.ofSeconds(3)).atMost(java.time.Duration.ofSeconds(10))
          .until(() -> invoke(http, good).statusCode() == 202);
      assertThat(http.invoke(ACME_KEY, "acme", "echo", "{}").statusCode()).isEqualTo(202);
    } finally {
      jwks.close();
    }
  }

  private static String b64(BigInteger v) {
    byte[] b = v.toByteArray();
    if (b.length > 1 && b[0] == 0) b = java.util.Arrays.copyOfRange(b, 1, b.length);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
