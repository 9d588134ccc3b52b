package dev.conveyor.engine.callback;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import dev.conveyor.engine.invoke.RetryAfter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One try of an {@link OutboundPost}: a POST with its headers, {@code X-Conveyor-Invocation-Id}
 * and {@code X-Conveyor-Signature: t=<unix seconds>,v1=<hex>}, where v1 is HMAC-SHA256 with the
 * tenant's secret over {@code "<t>." + body}. The URL is checked against the tenant's allow-list
 * before every try (the config may have changed since the invocation was accepted). Retries are
 * the {@link CallbackDispatcher}'s.
 */
public final class CallbackSender {
  /** What one try came to. */
  public enum Outcome { DELIVERED, FAILED, REFUSED }

  /** The outcome, and the receiver's {@code Retry-After} in ms (or -1). */
  public record Try(Outcome outcome, long retryAfterMs) {
    static final Try DELIVERED = new Try(Outcome.DELIVERED, -1);
    static final Try FAILED = new Try(Outcome.FAILED, -1);
    static final Try REFUSED = new Try(Outcome.REFUSED, -1);
  }

  private final HttpClientAgent client;
  private final Function<String, Optional<Tenant>> tenants;
  private final Time clock;

  public CallbackSender(Vertx vertx, Function<String, Optional<Tenant>> tenants, Time clock) {
    this.client = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5000).setKeepAlive(true));
    this.tenants = tenants;
    this.clock = clock;
  }

  public static String sign(String secret, long unixSeconds, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      mac.update((unixSeconds + ".").getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Never fails: a transport error or a non-2xx answer is {@link Outcome#FAILED}. */
  public Future<Try> post(OutboundPost p) {
    Tenant tenant = tenants.apply(p.tenant()).orElse(null);
    if (tenant == null || !tenant.callbacks().allows(p.url())) return Future.succeededFuture(Try.REFUSED);
    long t = clock.now().getEpochSecond();
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(p.url()).setTimeout(10_000)
        .putHeader("x-conveyor-invocation-id", p.invocationId())
        .putHeader("x-conveyor-signature", "t=" + t + ",v1=" + sign(tenant.callbacks().secret(), t, p.body()));
    p.headers().forEach(opts::putHeader);
    return client.request(opts)
        .compose(req -> req.send(Buffer.buffer(p.body())))
        .compose(resp -> resp.body().map(b -> resp.statusCode() >= 200 && resp.statusCode() < 300 ? Try.DELIVERED
            : new Try(Outcome.FAILED, RetryAfter.millis(resp.getHeader("retry-after"), clock.millis()))))
        .otherwise(Try.FAILED);
  }
}
