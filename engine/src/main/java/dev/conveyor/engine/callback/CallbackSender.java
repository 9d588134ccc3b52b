package dev.conveyor.engine.callback;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import io.vertx.core.MultiMap;
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
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSTs a finished invocation's result to its {@code X-Callback-Url} (OpenFaaS-style): the
 * function's body and content type, {@code X-Conveyor-Invocation-Id}, {@code X-Conveyor-Status},
 * {@code X-Function-Status}, and {@code X-Conveyor-Signature: t=<unix seconds>,v1=<hex>} where v1 is
 * HMAC-SHA256 with the tenant's secret over {@code "<t>." + body}. Retried with exponential backoff
 * until the receiver answers 2xx, {@code maxTries} times at most. The URL is checked against the
 * tenant's allow-list again before each send (the config may have changed). URL destinations
 * (onSuccess/onFailure) go out the same way, through {@link #post}.
 */
public final class CallbackSender {
  private static final Logger LOG = LoggerFactory.getLogger(CallbackSender.class);

  private final Vertx vertx;
  private final HttpClientAgent client;
  private final Function<String, Optional<Tenant>> tenants;
  private final Supplier<Instant> clock;
  private final int maxTries;

  public CallbackSender(Vertx vertx, Function<String, Optional<Tenant>> tenants, Supplier<Instant> clock, int maxTries) {
    this.vertx = vertx;
    this.client = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5000).setKeepAlive(true));
    this.tenants = tenants;
    this.clock = clock;
    this.maxTries = maxTries;
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

  /** The result to {@code X-Callback-Url}. Fire and forget: the outcome is already stored. */
  public void send(Invocation inv, InvocationStatus terminal, StoredResult result) {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().add("x-conveyor-status", terminal.status().name());
    if (result != null) {
      headers.add("x-function-status", Integer.toString(result.httpStatus()));
      if (result.contentType() != null) headers.add("content-type", result.contentType());
    }
    post(inv, inv.callbackUrl(), headers, result == null ? new byte[0] : result.body());
  }

  /** A signed POST on behalf of the invocation's tenant, to an allow-listed URL only, retried. */
  public void post(Invocation inv, String url, MultiMap headers, byte[] body) {
    Tenant tenant = tenants.apply(inv.tenant()).orElse(null);
    if (url == null || tenant == null || !tenant.callbacks().allows(url)) {
      LOG.warn("a POST for invocation {} was dropped: its URL is not on tenant {}'s allow-list", inv.id(), inv.tenant());
      return;
    }
    attempt(inv, tenant.callbacks().secret(), url, headers, body, 1);
  }

  private void attempt(Invocation inv, String secret, String url, MultiMap headers, byte[] body, int n) {
    long t = clock.get().getEpochSecond();
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url).setTimeout(10_000)
        .putHeader("x-conveyor-invocation-id", inv.id())
        .putHeader("x-conveyor-signature", "t=" + t + ",v1=" + sign(secret, t, body));
    headers.forEach(opts::putHeader);
    client.request(opts).compose(req -> req.send(Buffer.buffer(body))).compose(resp -> resp.body().map(b -> resp.statusCode()))
        .onComplete(ar -> {
          if (ar.succeeded() && ar.result() >= 200 && ar.result() < 300) return;
          if (n >= maxTries) {
            LOG.warn("callback of invocation {} given up after {} tries", inv.id(), n);
            return;
          }
          long delay = Math.min(60_000, 500L << Math.min(16, n - 1));
          vertx.setTimer(delay, id -> attempt(inv, secret, url, headers, body, n + 1));
        });
  }
}
