package dev.conveyor.engine.invoke;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationBuilder;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.time.Time;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
}
