package dev.conveyor.engine.http;

import dev.conveyor.engine.observability.Metrics;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.function.Supplier;

/**
 * The admin port: liveness, readiness (Kafka reachable and status replayed), Prometheus text, and the
 * API's OpenAPI document (docs/openapi.yaml, packed into the jar).
 */
public final class AdminRoutes {
  /** Where the OpenAPI document is on the class path. */
  public static final String OPENAPI_RESOURCE = "/openapi.yaml";

  /** Why the gateway cannot accept, or null when it can. */
  public interface Readiness extends Supplier<String> {}

  private AdminRoutes() {}

  public static Router router(Vertx vertx, Readiness readiness, Metrics metrics) {
    Router r = Router.router(vertx);
    Buffer openapi = openapi(); // read once: static bytes
    r.get("/healthz").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
        .end(new JsonObject().put("status", "up").encode()));
    r.get("/readyz").handler(ctx -> {
      String why = readiness.get();
      ctx.response().setStatusCode(why == null ? 200 : 503).putHeader("content-type", "application/json")
          .end(new JsonObject().put("status", why == null ? "ready" : "not ready").put("reason", why == null ? "ok" : why).encode());
    });
    r.get("/metrics").handler(ctx -> vertx.<String>executeBlocking(() -> metrics.scrape(ctx.queryParam("name[]")), false)
        .onSuccess(text -> ctx.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8").end(text))
        .onFailure(ctx::fail));
    r.get("/openapi.yaml").handler(ctx -> ctx.response().putHeader("content-type", "application/yaml; charset=utf-8").end(openapi));
    return r;
  }

  /** The OpenAPI document's bytes. */
  public static Buffer openapi() {
    try (InputStream in = AdminRoutes.class.getResourceAsStream(OPENAPI_RESOURCE)) {
      if (in == null) throw new IllegalStateException(OPENAPI_RESOURCE + " is not on the class path");
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
