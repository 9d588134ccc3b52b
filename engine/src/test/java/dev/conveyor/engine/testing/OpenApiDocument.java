package dev.conveyor.engine.testing;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.conveyor.engine.http.AdminRoutes;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.contract.MediaType;
import io.vertx.openapi.contract.OpenAPIContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The API's OpenAPI document (docs/openapi.yaml, as the build packs it for the admin port), and the
 * same document as vertx-openapi 5.0 takes it.
 */
public final class OpenApiDocument {
  private OpenApiDocument() {}

  /** What a media type vertx-openapi 5.0 does not know becomes in {@link #forVertxOpenApi}. */
  public static final String ANY = MediaType.APPLICATION_OCTET_STREAM;

  /** The document as served: the class path copy the build made of docs/openapi.yaml. */
  public static JsonObject load() {
    return parse(AdminRoutes.openapi().toString(StandardCharsets.UTF_8));
  }

  public static JsonObject parse(String yaml) {
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> map = new YAMLMapper().readValue(yaml, Map.class);
      return new JsonObject(map);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * vertx-openapi 5.0 refuses a contract with a media type outside its fixed list (its registry of
   * custom types came in 5.1). The payload routes take and answer any type ({@code *}{@code /*}), the
   * admin port answers {@code application/yaml}: each such key becomes {@link #ANY}. Their schemas are
   * {@code {type: string, format: binary}}, which vertx-openapi does not validate a body against. That
   * changes nothing of what the OpenAPI 3.1 schema checks (a media type is any string there). The
   * document's own path keys are checked by the contract test against the routes.
   */
  public static JsonObject forVertxOpenApi(JsonObject doc) {
    JsonObject out = (JsonObject) adapt(doc.copy(), false);
    // vertx-openapi 5.0 also takes a path parameter only as a whole segment, where OpenAPI allows
    // {id}:redrive: such a path gets its suffix as a segment of its own (operations are found by id).
    JsonObject paths = new JsonObject();
    out.getJsonObject("paths").forEach(e -> paths.put(e.getKey().replaceAll("}(?=[^/])", "}/"), e.getValue()));
    return out.put("paths", paths);
  }

  private static Object adapt(Object node, boolean isContent) {
    if (node instanceof JsonObject o) {
      JsonObject out = new JsonObject();
      for (String k : o.fieldNames()) {
        Object v = adapt(o.getValue(k), k.equals("content"));
        String key = isContent && !MediaType.isMediaTypeSupported(k) ? ANY : k;
        if (!out.containsKey(key)) out.put(key, v);
      }
      return out;
    }
    if (node instanceof JsonArray a) {
      JsonArray out = new JsonArray();
      for (Object v : a) out.add(adapt(v, false));
      return out;
    }
    return node;
  }

  /** The contract vertx-openapi builds of {@code doc}: it fails on anything the OpenAPI 3.1 schema refuses. */
  public static OpenAPIContract contract(Vertx vertx, JsonObject doc) {
    try {
      return OpenAPIContract.from(vertx, forVertxOpenApi(doc)).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the OpenAPI contract was not built within 30 s", e);
    }
  }
}
