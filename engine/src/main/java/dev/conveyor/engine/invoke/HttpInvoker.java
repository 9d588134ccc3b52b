package dev.conveyor.engine.invoke;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.functions.FunctionTarget;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * POSTs the payload to the function's URL with the headers docs/api.md lists under "What the function receives", over a pooled, keep-alive
 * Vert.x client. The attempt's timeout covers the whole exchange; when it fires the request is
 * reset. Response bodies above {@code maxResponseBytes} are cut off (the attempt still counts).
 * https URLs of Knative revisions with cluster-local TLS are trusted by the CA the Service gives in
 * {@code status.address.CACerts}, and by the configured trust bundle.
 */
public final class HttpInvoker implements Invoker {
  /** Clients per trusted CA set: a cluster has one or a few CAs, so this stays small. */
  private static final int MAX_TRUST_CLIENTS = 32;

  private final Vertx vertx;
  private final HttpClientAgent client;
  private final int maxResponseBytes;
  private final Time clock;
  private final int maxConnectionsPerHost;
  private final String trustBundle;
  /** Clients per CA set; one evicted (CAs rotated many times) is closed a minute later, after its calls. */
  private final com.github.benmanes.caffeine.cache.Cache<String, HttpClientAgent> trusting;

  public HttpInvoker(Vertx vertx, Time clock, int maxConnectionsPerHost, int maxResponseBytes) {
    this(vertx, clock, maxConnectionsPerHost, maxResponseBytes, null);
  }

  /**
   * @param trustBundle PEM of the CAs https URLs are trusted by (with a target's own CA from
   *     {@code status.address.CACerts}); null: the JVM's default trust
   */
  public HttpInvoker(Vertx vertx, Time clock, int maxConnectionsPerHost, int maxResponseBytes, String trustBundle) {
    this.vertx = vertx;
    this.clock = clock;
    this.maxResponseBytes = maxResponseBytes;
    this.maxConnectionsPerHost = maxConnectionsPerHost;
    this.trustBundle = trustBundle;
    this.client = trustBundle == null ? create(null) : create(trustBundle);
    this.trusting = com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(MAX_TRUST_CLIENTS)
        .executor(Runnable::run)
        .<String, HttpClientAgent>removalListener((pem, c, cause) -> {
          if (c != null) clock.setTimer(60_000, c::close);
        }).build();
  }

  private HttpClientAgent create(String pem) {
    HttpClientOptions options = new HttpClientOptions().setKeepAlive(true).setConnectTimeout(5000).setTcpNoDelay(true);
    if (pem != null) options.setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(pem)));
    return vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(maxConnectionsPerHost).setMaxWaitQueueSize(-1));
  }

  /** The client for a target: one trusting the revision's own CA (and the bundle) when it gives one. */
  private HttpClientAgent client(FunctionTarget target) {
    String ca = target.serving().caCerts();
    if (ca == null || !"https".equalsIgnoreCase(target.url().getScheme())) return client;
    String pem = trustBundle == null ? ca : ca + "\n" + trustBundle;
    return trusting.get(pem, this::create);
  }

  @Override
  public Future<AttemptResult> invoke(Invocation inv, FunctionTarget target, int attempt, long timeoutMs,
      java.util.Map<String, String> trace) {
    String uri = target.url().toString();
    if (inv.query() != null && !inv.query().isEmpty()) {
      uri += (uri.contains("?") ? "&" : "?") + inv.query();
    }
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(uri);
    if (inv.contentType() != null) opts.putHeader("content-type", inv.contentType());
    opts.putHeader("x-conveyor-invocation-id", inv.id());
    opts.putHeader("x-conveyor-attempt", Integer.toString(attempt));
    inv.passHeaders().forEach(opts::putHeader);
    if (!trace.isEmpty()) trace.forEach(opts::putHeader);
    else if (inv.traceparent() != null) opts.putHeader("traceparent", inv.traceparent());

    Promise<AttemptResult> result = Promise.promise();
    AtomicBoolean timedOut = new AtomicBoolean();
    long[] timer = {-1};
    client(target).request(opts).onComplete(ar -> {
      if (ar.failed()) {
        result.tryComplete(new AttemptResult.TransportError(describe(target, ar.cause())));
        return;
      }
      var req = ar.result();
      timer[0] = clock.setTimer(timeoutMs, () -> {
        timedOut.set(true);
        result.tryComplete(new AttemptResult.Timeout(timeoutMs));
        req.reset();
      });
      long sent = clock.nanos();
      req.send(Buffer.buffer(inv.payload())).compose(resp -> {
        long firstByteMs = (clock.nanos() - sent) / 1_000_000;
        String serverTiming = resp.getHeader("server-timing");
        String ct = resp.getHeader("content-type");
        String retryAfter = resp.getHeader("retry-after");
        // Keep at most maxResponseBytes; the rest is read and dropped, so a huge answer costs no memory.
        Buffer kept = Buffer.buffer();
        long[] total = {0};
        Promise<AttemptResult> read = Promise.promise();
        resp.handler(chunk -> {
          total[0] += chunk.length();
          int room = maxResponseBytes - kept.length();
          if (room > 0) kept.appendBuffer(chunk.length() <= room ? chunk : chunk.slice(0, room));
        });
        resp.exceptionHandler(read::tryFail);
        resp.endHandler(v -> read.tryComplete(new AttemptResult.Response(resp.statusCode(), ct, retryAfter, kept, total[0],
            firstByteMs, serverTiming)));
        return read.future();
      }).onComplete(done -> {
        clock.cancelTimer(timer[0]);
        if (timedOut.get()) return;
        if (done.succeeded()) result.tryComplete(done.result());
        else result.tryComplete(new AttemptResult.TransportError(describe(target, done.cause())));
      });
    });
    return result.future();
  }

  private static String describe(FunctionTarget target, Throwable t) {
    String m = t.getMessage();
    String what = t.getClass().getSimpleName() + (m == null ? "" : ": " + (m.length() > 200 ? m.substring(0, 200) : m));
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof javax.net.ssl.SSLException) {
        return "TLS handshake with " + target.url().getHost() + " failed: its certificate is not trusted (give its CA in the "
            + "Knative Service's status.address.CACerts or in knative.trustBundle); " + what;
      }
    }
    return what;
  }
}
