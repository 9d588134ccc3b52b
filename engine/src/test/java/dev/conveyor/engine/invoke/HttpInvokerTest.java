package dev.conveyor.engine.invoke;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationBuilder;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig.Protocol;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.time.Time;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.net.SelfSignedCertificate;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HttpInvokerTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void eachRequestGoesToTheClientWithFewestInFlight() {
    HttpInvoker.Shards shards = new HttpInvoker.Shards(4, () -> vertx.createHttpClient());
    List<Promise<Void>> calls = new ArrayList<>();
    Map<HttpClientAgent, Integer> taken = new java.util.IdentityHashMap<>();
    for (int i = 0; i < 8; i++) {
      Promise<Void> call = Promise.promise();
      calls.add(call);
      taken.merge(shards.take(call.future()), 1, Integer::sum);
    }
    assertThat(taken).hasSize(4).allSatisfy((client, n) -> assertThat(n).isEqualTo(2));
    HttpClientAgent first = shards.take(Promise.<Void>promise().future()); // now 3 there, 2 elsewhere
    calls.stream().limit(8).forEach(Promise::complete);
    assertThat(shards.take(Promise.<Void>promise().future())).as("all ended but the one on the first").isNotSameAs(first);
    assertThat(HttpInvoker.Shards.count(512)).isEqualTo(8);
    assertThat(HttpInvoker.Shards.count(64)).isEqualTo(1);
    assertThat(HttpInvoker.Shards.count(1)).isEqualTo(1);
    assertThat(HttpInvoker.Shards.count(100_000)).isEqualTo(HttpInvoker.MAX_SHARDS);
  }

  @Test
  void theRequestGoesWhereVertxWouldSendItsAbsoluteUri() {
    for (String url : List.of("http://h", "http://h/", "http://h:8080/f", "https://h/f?a=1", "https://h:8443", "http://h/f?",
        "http://[::1]:9000/p%20q?x=%2F", "http://resize.acme.svc.cluster.local/v1/run", "HTTP://h/f", "http://u:p@h/f")) {
      for (String query : java.util.Arrays.asList(null, "", "b=2&c=%20")) {
        String absolute = url + (query == null || query.isEmpty() ? "" : (url.contains("?") ? "&" : "?") + query);
        io.vertx.core.http.RequestOptions expected = new io.vertx.core.http.RequestOptions().setAbsoluteURI(absolute);
        io.vertx.core.http.RequestOptions actual = new io.vertx.core.http.RequestOptions();
        HttpInvoker.address(actual, URI.create(url), query);
        assertThat(List.of(actual.getHost(), actual.getPort(), actual.isSsl(), actual.getURI())).as(absolute)
            .isEqualTo(List.of(expected.getHost(), expected.getPort(), expected.isSsl(), expected.getURI()));
      }
    }
    io.vertx.core.http.RequestOptions fragment = new io.vertx.core.http.RequestOptions();
    HttpInvoker.address(fragment, URI.create("http://h/f#part"), "b=2");
    assertThat(fragment.getURI()).as("the query kept, the fragment left out").isEqualTo("/f?b=2");
    for (String bad : List.of("ftp://h/f", "http://under_score/f")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(
          () -> HttpInvoker.address(new io.vertx.core.http.RequestOptions(), URI.create(bad), null)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void asManyCallsAsConnectionsPerHostAreInFlightAtOnceEachOnItsOwnConnection() throws Exception {
    int calls = 256; // four clients of the host's connections
    Set<Object> connections = ConcurrentHashMap.newKeySet();
    List<HttpServerRequest> held = new ArrayList<>();
    // the server answers none until every call is open: a call waiting for a connection fails the test
    HttpServer server = vertx.createHttpServer().requestHandler(req -> {
      connections.add(req.connection());
      held.add(req);
      if (held.size() == calls) held.forEach(r -> r.response().end("ok"));
    });
    int port = server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
    HttpInvoker invoker = new HttpInvoker(vertx, Time.system(vertx), calls, 1024);
    FunctionTarget target = new FunctionTarget("acme", "resize", URI.create("http://127.0.0.1:" + port + "/f"), 128, calls,
        ConfigLoader.defaultDelivery(), ConfigLoader.defaultBreaker(), null, null);
    List<Future<AttemptResult>> results = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      Invocation inv = InvocationBuilder.builder().id("call-" + i).tenant("acme").namespace("acme").function("resize")
          .payload(new byte[] {'x'}).passHeaders(Map.of()).acceptedAt(Instant.EPOCH).build();
      results.add(invoker.invoke(inv, target, 1, 30_000, Map.of()));
    }
    Future.all(results).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertThat(results).allSatisfy(r -> assertThat(r.result()).isInstanceOfSatisfying(AttemptResult.Response.class,
        resp -> assertThat(resp.status()).isEqualTo(200)));
    assertThat(connections).hasSize(calls);
  }

  @Test
  void overHttp2TheCallsToAHostAreStreamsOfOneConnectionPerClient() throws Exception {
    int calls = 256; // four clients of the host's calls, each within one connection's streams
    Set<Object> connections = ConcurrentHashMap.newKeySet();
    List<HttpServerRequest> held = new ArrayList<>();
    List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer server = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      connections.add(req.connection());
      seen.add(req.version() + " " + req.method() + " " + req.uri() + " " + req.getHeader("content-type") + " "
          + req.getHeader("ce-type") + " " + req.getHeader("x-conveyor-attempt") + " " + body);
      held.add(req);
      if (held.size() == calls) held.forEach(r -> r.response().putHeader("content-type", "text/plain").end("ok"));
    }));
    int port = listen(server);
    HttpInvoker invoker = new HttpInvoker(vertx, Time.system(vertx), calls, 1024, null, Protocol.http2);
    List<io.netty.channel.ChannelPipeline> pipelines = new java.util.concurrent.CopyOnWriteArrayList<>();
    invoker.onConnect = conn -> pipelines.add(((io.vertx.core.net.impl.ConnectionBase) conn).channel().pipeline());
    List<Future<AttemptResult>> results = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      results.add(invoker.invoke(invocation("call-" + i, Map.of("Ce-Type", "com.acme.resize")), target(port, calls), 2, 30_000, Map.of()));
    }
    Future.all(results).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertThat(results).allSatisfy(r -> assertThat(r.result()).isInstanceOfSatisfying(AttemptResult.Response.class, resp -> {
      assertThat(resp.status()).isEqualTo(200);
      assertThat(resp.contentType()).isEqualTo("text/plain");
      assertThat(resp.body().toString()).isEqualTo("ok");
    }));
    assertThat(seen).hasSize(calls).allSatisfy(line ->
        assertThat(line).isEqualTo("HTTP_2 POST /f?size=2 application/json com.acme.resize 2 {\"x\":1}"));
    assertThat(connections).as("one per client: %s calls over %s", calls, HttpInvoker.Shards.count(calls))
        .hasSize(HttpInvoker.Shards.count(calls));
    assertThat(pipelines).as("each connection's flushes batched").hasSize(HttpInvoker.Shards.count(calls))
        .allSatisfy(p -> assertThat(p.first()).isInstanceOf(io.netty.handler.flush.FlushConsolidationHandler.class));
  }

  @Test
  void anHttp2ConnectionBatchesTheFlushesOfOneEventLoopTurnAndAnHttp11OneDoesNot() throws Exception {
    HttpServer server = vertx.createHttpServer().requestHandler(req -> req.response().end("ok"));
    int port = listen(server);
    for (HttpVersion version : List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1)) {
      CompletableFuture<io.vertx.core.http.HttpConnection> connected = new CompletableFuture<>();
      HttpClientAgent client = vertx.httpClientBuilder()
          .with(new io.vertx.core.http.HttpClientOptions().setProtocolVersion(version).setHttp2ClearTextUpgrade(false))
          .withConnectHandler(conn -> {
            HttpInvoker.batchFlushes(conn);
            connected.complete(conn);
          }).build();
      String body = client.request(io.vertx.core.http.HttpMethod.GET, port, "127.0.0.1", "/").compose(r -> r.send())
          .compose(r -> r.body()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).toString();
      assertThat(body).isEqualTo("ok");
      // Vert.x gives no public way into a connection's pipeline: this fails if its internals move
      io.netty.channel.ChannelPipeline pipeline = ((io.vertx.core.net.impl.ConnectionBase) connected.get(10, TimeUnit.SECONDS))
          .channel().pipeline();
      assertThat(pipeline.get(io.netty.handler.flush.FlushConsolidationHandler.class)).as("%s", version)
          .matches(h -> (h != null) == (version == HttpVersion.HTTP_2), "there over HTTP/2 only")
          .matches(h -> h == null || pipeline.first() == h, "at the head, where every flush passes");
    }
  }

  @Test
  void aTimedOutHttp2CallResetsItsStreamAndTheConnectionCarriesTheNext() throws Exception {
    Set<Object> connections = ConcurrentHashMap.newKeySet();
    CompletableFuture<Throwable> reset = new CompletableFuture<>();
    HttpServer server = vertx.createHttpServer().requestHandler(req -> {
      connections.add(req.connection());
      if (req.getHeader("x-conveyor-invocation-id").equals("slow")) req.response().exceptionHandler(reset::complete); // never answered
      else req.response().end("fast");
    });
    int port = listen(server);
    HttpInvoker invoker = new HttpInvoker(vertx, Time.system(vertx), 1, 1024, null, Protocol.http2);
    AttemptResult slow = invoker.invoke(invocation("slow", Map.of()), target(port, 1), 1, 200, Map.of())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(slow).isInstanceOf(AttemptResult.Timeout.class);
    assertThat(reset.get(10, TimeUnit.SECONDS)).as("the server sees the stream reset").isInstanceOf(StreamResetException.class);
    AttemptResult fast = invoker.invoke(invocation("fast", Map.of()), target(port, 1), 1, 10_000, Map.of())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(fast).isInstanceOfSatisfying(AttemptResult.Response.class, r -> assertThat(r.body().toString()).isEqualTo("fast"));
    assertThat(connections).as("the reset closed no connection").hasSize(1);
  }

  @Test
  void overTlsTheCallsStayOnHttp11EachOnItsOwnConnectionWhateverAlpnOffers() throws Exception {
    SelfSignedCertificate certificate = SelfSignedCertificate.create("localhost");
    String pem = java.nio.file.Files.readString(java.nio.file.Path.of(certificate.certificatePath()));
    int calls = 8;
    for (boolean alpn : List.of(true, false)) {
      List<HttpVersion> versions = new java.util.concurrent.CopyOnWriteArrayList<>();
      Set<Object> connections = ConcurrentHashMap.newKeySet();
      List<HttpServerRequest> held = new ArrayList<>();
      // answered only once every call is open: calls queued behind one connection fail the test
      HttpServer server = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setUseAlpn(alpn)
          .setKeyCertOptions(certificate.keyCertOptions())).requestHandler(req -> {
            versions.add(req.version());
            connections.add(req.connection());
            held.add(req);
            if (held.size() == calls) held.forEach(r -> r.response().end("tls"));
          });
      int port = listen(server);
      HttpInvoker invoker = new HttpInvoker(vertx, Time.system(vertx), calls, 1024, pem, Protocol.http2);
      FunctionTarget target = new FunctionTarget("acme", "resize", URI.create("https://localhost:" + port + "/f"), 128, calls,
          ConfigLoader.defaultDelivery(), ConfigLoader.defaultBreaker(), null, null);
      List<Future<AttemptResult>> results = new ArrayList<>();
      for (int i = 0; i < calls; i++) results.add(invoker.invoke(invocation("tls-" + i, Map.of()), target, 1, 10_000, Map.of()));
      Future.all(results).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(results).as("ALPN offered: %s", alpn).allSatisfy(r -> assertThat(r.result())
          .isInstanceOfSatisfying(AttemptResult.Response.class, resp -> assertThat(resp.body().toString()).isEqualTo("tls")));
      assertThat(versions).hasSize(calls).containsOnly(HttpVersion.HTTP_1_1);
      assertThat(connections).hasSize(calls);
    }
  }

  @Test
  void aCallWaitingForAStreamTimesOutWithinItsTimeoutUnsent() throws Exception {
    List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    HttpServer server = vertx.createHttpServer(new HttpServerOptions()
        .setInitialSettings(new io.vertx.core.http.Http2Settings().setMaxConcurrentStreams(1)))
        .requestHandler(req -> seen.add(req.getHeader("x-conveyor-invocation-id"))); // never answered
    int port = listen(server);
    HttpInvoker invoker = new HttpInvoker(vertx, Time.system(vertx), 4, 1024, null, Protocol.http2);
    Future<AttemptResult> first = invoker.invoke(invocation("first", Map.of()), target(port, 4), 1, 30_000, Map.of());
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> seen.contains("first"));
    AttemptResult second = invoker.invoke(invocation("second", Map.of()), target(port, 4), 1, 300, Map.of())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(second).isInstanceOf(AttemptResult.Timeout.class);
    assertThat(first.isComplete()).isFalse();
    assertThat(seen).as("the one stream the server allows is the first call's").containsExactly("first");
  }

  @Test
  void aServerThatSpeaksOnlyHttp11FailsEachHttp2CallAsATransportErrorThatSaysSo() throws Exception {
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false))
        .requestHandler(req -> req.response().end("ok"));
    int port = listen(server);
    HttpInvoker invoker = new HttpInvoker(vertx, Time.system(vertx), 4, 1024, null, Protocol.http2);
    AttemptResult r = invoker.invoke(invocation("h1", Map.of()), target(port, 4), 1, 10_000, Map.of())
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(r).isInstanceOfSatisfying(AttemptResult.TransportError.class,
        e -> assertThat(e.message()).contains("dispatch.protocol"));
  }

  private int listen(HttpServer server) throws Exception {
    return server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
  }

  private static FunctionTarget target(int port, int concurrency) {
    return new FunctionTarget("acme", "resize", URI.create("http://127.0.0.1:" + port + "/f"), 128, concurrency,
        ConfigLoader.defaultDelivery(), ConfigLoader.defaultBreaker(), null, null);
  }

  private static Invocation invocation(String id, Map<String, String> pass) {
    return InvocationBuilder.builder().id(id).tenant("acme").namespace("acme").function("resize").contentType("application/json")
        .query("size=2").payload("{\"x\":1}".getBytes(java.nio.charset.StandardCharsets.UTF_8)).passHeaders(pass)
        .acceptedAt(Instant.EPOCH).build();
  }
}
