package dev.conveyor.bench;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import java.util.UUID;

/**
 * The baseline: a bare Vert.x server that reads the body and answers 202 with a body and headers
 * of the gateway's size, and stores nothing. It is the ceiling for accepting requests here.
 */
public final class BareServer extends VerticleBase {
  private final int port;

  BareServer(int port) {
    this.port = port;
  }

  @Override
  public Future<?> start() {
    return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true)).requestHandler(req -> req.body().onSuccess(b -> {
      String id = UUID.randomUUID().toString();
      req.response().setStatusCode(202).putHeader("content-type", "application/json")
          .putHeader("location", "/v1/invocations/" + id)
          .end("{\"id\":\"" + id + "\",\"status\":\"queued\",\"namespace\":\"bench\",\"function\":\"noop\",\"acceptedAt\":\"2026-01-01T00:00:00.000Z\"}");
    })).listen(port);
  }

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    // the gateway's transport (epoll where available), so the baseline is the best bare Vert.x here
    Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setPreferNativeTransport(true));
    vertx.deployVerticle(() -> new BareServer(port), new DeploymentOptions().setInstances(Runtime.getRuntime().availableProcessors()))
        .onSuccess(id -> System.out.println("bare 202 server on :" + port))
        .onFailure(err -> {
          System.err.println("bare server failed: " + err);
          System.exit(1);
        });
  }
}
