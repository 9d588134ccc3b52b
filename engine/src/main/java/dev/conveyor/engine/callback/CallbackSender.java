package dev.conveyor.engine.callback;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
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
 * tenant's allow-list again before each send (the config may have changed).
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

  /** Fire and forget: the outcome is already stored; this only tells the caller's receiver. */
  public void send(Invocation inv, InvocationStatus terminal, StoredResult result) {
    String url = inv.callbackUrl();
    Tenant tenant = tenants.apply(inv.tenant()).orElse(null);
    if (url == null || tenant == null || !tenant.callbacks().allows(url)) {
      LOG.warn("callback of invocation {} dropped: its URL is not allowed for tenant {} any more", inv.id(), inv.tenant());
      return;
    }
    byte[] body = result == null ? new byte[0] : result.body();
    attempt(inv, terminal, result, tenant.callbacks().secret(), url, body, 1);
  }

  private void attempt(Invocation inv, InvocationStatus terminal, StoredResult result, String secret, String url, byte[] body, int n) {
    long t = clock.get().getEpochSecond();
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url).setTimeout(10_000)
        .putHeader("x-conveyor-invocation-id", inv.id())
        .putHeader("x-conveyor-status", terminal.status().name())
        .putHeader("x-conveyor-signature", "t=" + t + ",v1=" + sign(secret, t, body));
    if (result != null) {
      opts.putHeader("x-function-status", Integer.toString(result.httpStatus()));
      if (result.contentType() != null) opts.putHeader("content-type", result.contentType());
    }
    client.request(opts).compose(req -> req.send(Buffer.buffer(body))).compose(resp -> resp.body().map(b -> resp.statusCode()))
        .onComplete(ar -> {
          if (ar.succeeded() && ar.result() >= 200 && ar.result() < 300) return;
          if (n >= maxTries) {
            LOG.warn("callback of invocation {} given up after {} tries", inv.id(), n);
            return;
          }
          long delay = Math.min(60_000, 500L << Math.min(16, n - 1));
          vertx.setTimer(delay, id -> attempt(inv, terminal, result, secret, url, body, n + 1));
        });
  }
}
