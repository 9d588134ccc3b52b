package dev.conveyor.engine.samples;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The sample functions a new user can invoke at once ({@code bin/conveyor up}, default config):
 * {@code /echo} answers the body back, {@code /sleep?ms=} waits first, {@code /flaky?failRate=}
 * fails with 500 at that rate. They behave like a Knative revision's container: plain HTTP POST.
 */
public final class SampleFunctions extends VerticleBase {
  private final int port;
  private HttpServer server;

  public SampleFunctions(int port) {
    this.port = port;
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer().requestHandler(this::handle);
    return server.listen(port);
  }

  public int actualPort() {
    return server.actualPort();
  }

  private void handle(HttpServerRequest req) {
    req.body().onSuccess(body -> {
      String path = req.path();
      switch (path) {
        case "/echo" -> echo(req, body);
        case "/sleep" -> {
          long ms = (long) Math.min(60_000, Math.max(0, number(req.getParam("ms"), 100)));
          if (ms == 0) echo(req, body);
          else vertx.setTimer(ms, id -> echo(req, body));
        }
        case "/flaky" -> {
          double rate = Math.min(1, Math.max(0, number(req.getParam("failRate"), 0.5)));
          if (ThreadLocalRandom.current().nextDouble() < rate) {
            req.response().setStatusCode(500).putHeader("content-type", "application/json")
                .end("{\"error\":\"flaky failure\"}");
          } else {
            echo(req, body);
          }
        }
        default -> req.response().setStatusCode(404).end();
      }
    });
  }

  private static void echo(HttpServerRequest req, Buffer body) {
    String ct = req.getHeader("content-type");
    var resp = req.response().setStatusCode(200);
    if (ct != null) resp.putHeader("content-type", ct);
    resp.end(body);
  }

  private static double number(String s, double dflt) {
    if (s == null) return dflt;
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }
}
