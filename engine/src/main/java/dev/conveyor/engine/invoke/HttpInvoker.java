package dev.conveyor.engine.invoke;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.config.ConveyorConfig.Protocol;
import dev.conveyor.engine.functions.FunctionTarget;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
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
 *
 * <p>Over HTTP/1.1 a call in flight holds a connection; over HTTP/2 ({@link Protocol#http2}) the
 * calls to a host are streams over one connection per shard, another opened only where the
 * server's stream limit is reached (a shard opens as many as its share of the calls needs at
 * {@link #STREAMS_PER_CONNECTION} each).
 *
 * <p>A host's connections are split over a few clients ({@link Shards}): Vert.x 5's client picks a
 * pooled connection by scanning every connection it holds to the host
 * ({@code SharedHttpClientConnectionGroup}'s LIFO selector), once per request, and a replica holds up
 * to {@code maxInFlight} connections to one function, or to a shared ingress. With 512 that scan
 * was 5% of the event loops' time while delivering.
 */
public final class HttpInvoker implements Invoker {
  /** Clients per trusted CA set: a cluster has one or a few CAs, so this stays small. */
  private static final int MAX_TRUST_CLIENTS = 32;
  /** About the connections one client scans per request, at most. */
  static final int CONNECTIONS_PER_SHARD = 64;
  /** The most clients a host's connections are split over (a bigger pool scans more per request). */
  static final int MAX_SHARDS = 16;
  /**
   * The streams an HTTP/2 server takes on one connection, at the least: Netty's and so Vert.x's
   * default {@code SETTINGS_MAX_CONCURRENT_STREAMS} (Go's, Knative's queue-proxy and Activator, is
   * 250; Envoy's is unbounded).
   */
  static final int STREAMS_PER_CONNECTION = 100;

  private final Vertx vertx;
  private final Shards client;
  private final int maxResponseBytes;
  private final Time clock;
  private final int maxConnectionsPerHost;
  private final String trustBundle;
  private final Protocol protocol;
  /** Clients per CA set; one evicted (CAs rotated many times) is closed a minute later, after its calls. */
  private final com.github.benmanes.caffeine.cache.Cache<String, Shards> trusting;

  /**
   * Clients of the same options, each request sent by the one with the fewest requests in flight, so
   * each holds its share of the connections to a host: {@code maxConnectionsPerHost} split evenly
   * (rounded up), and a request waits for a connection only when every client has its share busy.
   */
  static final class Shards {
    private final HttpClientAgent[] clients;
    private final java.util.concurrent.atomic.AtomicInteger[] inFlight;

    Shards(int count, java.util.function.Supplier<HttpClientAgent> create) {
      clients = new HttpClientAgent[count];
      inFlight = new java.util.concurrent.atomic.AtomicInteger[count];
      for (int i = 0; i < count; i++) {
        clients[i] = create.get();
        inFlight[i] = new java.util.concurrent.atomic.AtomicInteger();
      }
    }

    /** How many clients for {@code maxConnectionsPerHost}: one per {@link #CONNECTIONS_PER_SHARD}, up to {@link #MAX_SHARDS}. */
    static int count(int maxConnectionsPerHost) {
      return Math.max(1, Math.min(MAX_SHARDS, (maxConnectionsPerHost + CONNECTIONS_PER_SHARD - 1) / CONNECTIONS_PER_SHARD));
    }

    /** The client with the fewest requests in flight, counted until {@code done} completes. */
    HttpClientAgent take(Future<?> done) {
      int best = 0;
      for (int i = 1; i < inFlight.length; i++) {
        if (inFlight[i].get() < inFlight[best].get()) best = i;
      }
      var counter = inFlight[best];
      counter.incrementAndGet();
      done.onComplete(x -> counter.decrementAndGet());
      return clients[best];
    }

    Future<Void> close() {
      return Future.all(java.util.Arrays.stream(clients).map(HttpClientAgent::close).toList()).mapEmpty();
    }
  }

  public HttpInvoker(Vertx vertx, Time clock, int maxConnectionsPerHost, int maxResponseBytes) {
    this(vertx, clock, maxConnectionsPerHost, maxResponseBytes, null, Protocol.http1);
  }

  /**
   * @param trustBundle PEM of the CAs https URLs are trusted by (with a target's own CA from
   *     {@code status.address.CACerts}); null: the JVM's default trust
   * @param maxConnectionsPerHost the calls in flight to one host (each on its own connection over HTTP/1.1)
   */
  public HttpInvoker(Vertx vertx, Time clock, int maxConnectionsPerHost, int maxResponseBytes, String trustBundle,
      Protocol protocol) {
    this.vertx = vertx;
    this.protocol = protocol;
    this.clock = clock;
    this.maxResponseBytes = maxResponseBytes;
    this.maxConnectionsPerHost = maxConnectionsPerHost;
    this.trustBundle = trustBundle;
    this.client = trustBundle == null ? create(null) : create(trustBundle);
    this.trusting = com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(MAX_TRUST_CLIENTS)
        .executor(Runnable::run)
        .<String, Shards>removalListener((pem, c, cause) -> {
          if (c != null) clock.setTimer(60_000, c::close);
        }).build();
  }

  private Shards create(String pem) {
    HttpClientOptions options = new HttpClientOptions().setKeepAlive(true).setConnectTimeout(5000).setTcpNoDelay(true);
    if (pem != null) options.setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(pem)));
    int shards = Shards.count(maxConnectionsPerHost);
    int share = (maxConnectionsPerHost + shards - 1) / shards;
    PoolOptions pool = new PoolOptions().setHttp1MaxSize(share).setMaxWaitQueueSize(-1);
    if (protocol == Protocol.http2) {
      // h2c with prior knowledge (no HTTP/1.1 upgrade round: Envoy does not upgrade), ALPN over TLS
      options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false).setUseAlpn(true);
      pool.setHttp2MaxSize((share + STREAMS_PER_CONNECTION - 1) / STREAMS_PER_CONNECTION);
      return new Shards(shards,
          () -> vertx.httpClientBuilder().with(options).with(pool).withConnectHandler(HttpInvoker::batchFlushes).build());
    }
    return new Shards(shards, () -> vertx.createHttpClient(options, pool));
  }

  /**
   * Vert.x flushes an HTTP/2 connection after every frame it writes outside a read: a call's
   * HEADERS and its DATA each went out in a {@code writev} of their own, and every call on the
   * connection in the same event-loop turn did the same. Netty's {@code FlushConsolidationHandler}
   * at the head of the pipeline turns the flushes of one turn into one (after the tasks already
   * queued on the loop, at most 256 flushes apart). Over HTTP/1.1 a connection carries one call at
   * a time and Vert.x writes it whole, so its connections keep the plain pipeline. Vert.x has no
   * public way into a client connection's pipeline; {@code HttpInvokerTest} fails if the internal
   * one used here moves.
   */
  static void batchFlushes(io.vertx.core.http.HttpConnection conn) {
    if (conn instanceof io.vertx.core.net.impl.ConnectionBase c) {
      c.channel().pipeline().addFirst("conveyor-flush-batching", new io.netty.handler.flush.FlushConsolidationHandler(256, true));
    }
  }

  /** The clients for a target: ones trusting the revision's own CA (and the bundle) when it gives one. */
  private Shards client(FunctionTarget target) {
    String ca = target.serving().caCerts();
    if (ca == null || !"https".equalsIgnoreCase(target.url().getScheme())) return client;
    String pem = trustBundle == null ? ca : ca + "\n" + trustBundle;
    return trusting.get(pem, this::create);
  }

  @Override
  public Future<AttemptResult> invoke(Invocation inv, FunctionTarget target, int attempt, long timeoutMs,
      java.util.Map<String, String> trace) {
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST);
    address(opts, target.url(), inv.query());
    if (inv.contentType() != null) opts.putHeader("content-type", inv.contentType());
    opts.putHeader("x-conveyor-invocation-id", inv.id());
    opts.putHeader("x-conveyor-attempt", Integer.toString(attempt));
    inv.passHeaders().forEach(opts::putHeader);
    if (!trace.isEmpty()) trace.forEach(opts::putHeader);
    else if (inv.traceparent() != null) opts.putHeader("traceparent", inv.traceparent());

    Promise<AttemptResult> result = Promise.promise();
    AtomicBoolean timedOut = new AtomicBoolean();
    Runnable[] timer = {null};
    client(target).take(result.future()).request(opts).onComplete(ar -> {
      if (ar.failed()) {
        result.tryComplete(new AttemptResult.TransportError(describe(target, ar.cause())));
        return;
      }
      var req = ar.result();
      timer[0] = clock.deadline(timeoutMs, () -> {
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
        timer[0].run();
        if (timedOut.get()) return;
        if (done.succeeded()) result.tryComplete(done.result());
        else result.tryComplete(new AttemptResult.TransportError(describe(target, done.cause())));
      });
    });
    return result.future();
  }

  /**
   * Host, port, TLS and request URI from the target's parsed URL, as {@code setAbsoluteURI} sets them
   * (which parses the URL's text again into a {@code java.net.URL}, on every call), with
   * {@code query} (the invocation's) after the URL's own. A fragment is left out (appended to the
   * URL's text, the invocation's query would have become part of it).
   */
  static void address(RequestOptions opts, java.net.URI url, String query) {
    boolean https = "https".equalsIgnoreCase(url.getScheme());
    if (!https && !"http".equalsIgnoreCase(url.getScheme())) {
      throw new IllegalArgumentException("not an http(s) URL: " + url.getScheme());
    }
    if (url.getHost() == null) throw new IllegalArgumentException("no host in the function's URL");
    String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
    String own = url.getRawQuery();
    boolean more = query != null && !query.isEmpty();
    String uri = own == null ? (more ? path + "?" + query : path) : path + "?" + own + (more ? "&" + query : "");
    opts.setHost(url.getHost()).setPort(url.getPort() != -1 ? url.getPort() : https ? 443 : 80).setSsl(https).setURI(uri);
  }

  private String describe(FunctionTarget target, Throwable t) {
    String m = t.getMessage();
    String what = t.getClass().getSimpleName() + (m == null ? "" : ": " + (m.length() > 200 ? m.substring(0, 200) : m));
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof javax.net.ssl.SSLException) {
        return "TLS handshake with " + target.url().getHost() + " failed: its certificate is not trusted (give its CA in the "
            + "Knative Service's status.address.CACerts or in knative.trustBundle); " + what;
      }
      if (protocol == Protocol.http2 && c instanceof io.netty.handler.codec.http2.Http2Exception
          && c.getMessage() != null && c.getMessage().startsWith("First received frame was not SETTINGS")) {
        // what Netty says when the answer to the HTTP/2 preface is HTTP/1.1 text
        return target.url().getHost() + " does not speak HTTP/2 (dispatch.protocol is http2): set dispatch.protocol to http1, "
            + "or serve h2c there; " + what;
      }
    }
    return what;
  }
}
