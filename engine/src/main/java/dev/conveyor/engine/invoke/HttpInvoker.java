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
 * <p>Over HTTP/1.1 a call in flight holds a connection; with {@link Protocol#http2} the calls to
 * an http URL are streams of HTTP/2 without TLS (h2c) over one connection per shard (per
 * {@link #STREAMS_PER_CONNECTION} of its share). https URLs stay on HTTP/1.1: over TLS, a Vert.x
 * client set for HTTP/2 reserves its whole pool for each connection it opens, and one that ALPN
 * settles on HTTP/1.1 would carry one call at a time.
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
   * The streams counted on per HTTP/2 connection when sizing a client's pool: a Vert.x server's
   * default {@code SETTINGS_MAX_CONCURRENT_STREAMS} (Go's http2 server, Knative's queue-proxy and
   * Activator, allows 250; Envoy's default is unbounded). A client opens one connection per 100 of
   * its share of the calls (one for the default 64); a server that allows fewer streams than that
   * share leaves the rest waiting in the client's pool, inside their attempt's timeout.
   */
  static final int STREAMS_PER_CONNECTION = 100;
  /** An HTTP/2 connection's receive window (bytes): 16 MiB over its streams. */
  static final int CONNECTION_WINDOW = 16 * 1024 * 1024;
  /** An HTTP/2 stream's initial receive window (bytes). */
  static final int STREAM_WINDOW = 1024 * 1024;

  private final Vertx vertx;
  /** For http URLs: HTTP/1.1, or h2c with {@link Protocol#http2}. */
  private final Shards client;
  /** For https URLs without a CA of their own: HTTP/1.1 (the same as {@link #client} with {@link Protocol#http1}). */
  private final Shards tls;
  /** Told of each HTTP/2 connection opened (tests). */
  volatile java.util.function.Consumer<io.vertx.core.http.HttpConnection> onConnect = c -> {};
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
    this.tls = create(trustBundle, false);
    this.client = protocol == Protocol.http2 ? create(null, true) : tls;
    this.trusting = com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(MAX_TRUST_CLIENTS)
        .executor(Runnable::run)
        .<String, Shards>removalListener((pem, c, cause) -> {
          if (c != null) clock.setTimer(60_000, c::close);
        }).build();
  }

  /** Clients over HTTP/1.1 ({@code h2c} false) or HTTP/2 without TLS (true: for http URLs only). */
  private Shards create(String pem, boolean h2c) {
    HttpClientOptions options = new HttpClientOptions().setKeepAlive(true).setConnectTimeout(5000).setTcpNoDelay(true);
    if (pem != null) options.setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(pem)));
    int shards = Shards.count(maxConnectionsPerHost);
    int share = (maxConnectionsPerHost + shards - 1) / shards;
    PoolOptions pool = new PoolOptions().setHttp1MaxSize(share).setMaxWaitQueueSize(-1);
    if (h2c) {
      // prior knowledge: no HTTP/1.1 upgrade round (Envoy does not upgrade). Windows wide enough
      // that results up to maxResponseBytes on many streams at once do not wait for WINDOW_UPDATEs.
      options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
          .setHttp2ConnectionWindowSize(CONNECTION_WINDOW)
          .setInitialSettings(new io.vertx.core.http.Http2Settings().setInitialWindowSize(STREAM_WINDOW));
      pool.setHttp2MaxSize((share + STREAMS_PER_CONNECTION - 1) / STREAMS_PER_CONNECTION);
      return new Shards(shards, () -> vertx.httpClientBuilder().with(options).with(pool).withConnectHandler(conn -> {
        batchFlushes(conn);
        onConnect.accept(conn);
      }).build());
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
      io.netty.channel.ChannelPipeline pipeline = c.channel().pipeline();
      // HTTP/2 connections only (the check keeps that true if TLS clients ever negotiate by ALPN)
      if (pipeline.get(io.netty.handler.codec.http2.Http2ConnectionHandler.class) != null) {
        pipeline.addFirst("conveyor-flush-batching", new io.netty.handler.flush.FlushConsolidationHandler(256, true));
      }
    }
  }

  /** The clients for a target: ones trusting the revision's own CA (and the bundle) when it gives one. */
  private Shards client(FunctionTarget target) {
    String ca = target.serving().caCerts();
    if (!"https".equalsIgnoreCase(target.url().getScheme())) return client;
    if (ca == null) return tls;
    String pem = trustBundle == null ? ca : ca + "\n" + trustBundle;
    return trusting.get(pem, p -> create(p, false));
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
    java.util.concurrent.atomic.AtomicReference<io.vertx.core.http.HttpClientRequest> open = new java.util.concurrent.atomic.AtomicReference<>();
    // from before the pool: a call waiting for a connection or a stream waits within its timeout
    Runnable timer = clock.deadline(timeoutMs, () -> {
      timedOut.set(true);
      result.tryComplete(new AttemptResult.Timeout(timeoutMs));
      var req = open.get();
      if (req != null) req.reset();
    });
    client(target).take(result.future()).request(opts).onComplete(ar -> {
      if (ar.failed()) {
        timer.run();
        result.tryComplete(new AttemptResult.TransportError(describe(target, ar.cause())));
        return;
      }
      var req = ar.result();
      open.set(req);
      if (timedOut.get()) { // timed out while waiting for the connection: never sent
        req.reset();
        return;
      }
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
        timer.run();
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
