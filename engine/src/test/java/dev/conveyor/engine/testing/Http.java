package dev.conveyor.engine.testing;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** A small blocking/async client for the gateway's API, as an application would call it. */
public final class Http {
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;

  public Http(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  public HttpRequest.Builder request(String path, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
    if (key != null) b.header("authorization", "Bearer " + key);
    return b;
  }

  public HttpResponse<String> send(HttpRequest req) {
    try {
      return client.send(req, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public CompletableFuture<HttpResponse<String>> sendAsync(HttpRequest req) {
    return client.sendAsync(req, HttpResponse.BodyHandlers.ofString());
  }

  public HttpResponse<String> invoke(String key, String ns, String fn, String body) {
    return send(request("/v1/namespaces/" + ns + "/functions/" + fn + "/invocations", key)
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  public HttpResponse<String> get(String path, String key) {
    return send(request(path, key).GET().build());
  }

  public JsonObject status(String id, String key) {
    return new JsonObject(get("/v1/invocations/" + id, key).body());
  }
}
