package dev.conveyor.engine.http;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One HTTP server instance per event loop, all on the same port (Vert.x balances connections).
 * Stopping is Vert.x 5's graceful shutdown: no new connections, every request in flight is answered
 * (within {@code shutdownTimeout}), idle connections are closed, then the server closes.
 */
public final class ServerVerticle extends VerticleBase {
  private final String host;
  private final int port;
  private final Function<io.vertx.core.Vertx, Router> routes;
  private final Duration shutdownTimeout;
  private HttpServer server;

  public ServerVerticle(int port, Function<io.vertx.core.Vertx, Router> routes) {
    this(port, routes, Duration.ZERO);
  }

  public ServerVerticle(int port, Function<io.vertx.core.Vertx, Router> routes, Duration shutdownTimeout) {
    this("0.0.0.0", port, routes, shutdownTimeout);
  }

  /** On {@code host} only (the warm-up listens on loopback). */
  public ServerVerticle(String host, int port, Function<io.vertx.core.Vertx, Router> routes, Duration shutdownTimeout) {
    this.host = host;
    this.port = port;
    this.routes = routes;
    this.shutdownTimeout = shutdownTimeout;
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer(new HttpServerOptions()
            .setHost(host)
            .setTcpNoDelay(true)
            .setMaxHeaderSize(16 * 1024)
            .setMaxInitialLineLength(8 * 1024)
            .setDecoderInitialBufferSize(256)
            // No WebSocket routes: without these, Vert.x adds a WebSocket extension handler to every
            // connection's pipeline, which every response passes through.
            .setPerMessageWebSocketCompressionSupported(false)
            .setPerFrameWebSocketCompressionSupported(false)
            // A connection that sent nothing for 2 minutes is closed. (Counting writes too, as
            // setIdleTimeout does, makes Netty's idle handler hang a listener on every write.)
            .setReadIdleTimeout(120))
        .requestHandler(routes.apply(vertx));
    return server.listen(port);
  }

  @Override
  public Future<?> stop() {
    return server.shutdown(shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
