package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.TestKafka;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every route against a key holding each role alone: allowed where the role says, 403
 * {@code missing_role} elsewhere; and another tenant's ids are 404 to read, fetch or cancel.
 */
class RolesIT {
  static FunctionServer fn;
  static Conveyor gw;
  static Http http;
  static final Map<String, String> KEYS = new LinkedHashMap<>();

  @BeforeAll
  static void start() {
    fn = new FunctionServer();
    StringBuilder keys = new StringBuilder();
    for (String role : List.of("invoke", "read", "usage", "admin")) {
      KEYS.put(role, "only-" + role + "-key");
      keys.append("        - { sha256: \"%s\", roles: [%s] }\n".formatted(ApiKeyAuthenticator.sha256Hex("only-" + role + "-key"), role));
    }
    gw = Gateways.start("""
        server: { port: 0, adminPort: 0, warmUp: PT0S }
        kafka: { bootstrapServers: "%s", topicPrefix: "%s", partitions: 3, replicationFactor: 1, deliveryTimeout: PT5S }
        tenants:
          - name: acme
            namespaces: [acme]
            apiKeys:
        %s
          - name: globex
            namespaces: [globex]
            apiKeys: [ { sha256: "%s", roles: [invoke, read, admin] } ]
        functions:
          - { namespace: acme, name: echo, url: "%s" }
          - { namespace: globex, name: echo, url: "%s" }
        connectors:
          - { type: cloudevents, name: sink, namespace: acme, routes: [ { type: t, target: { namespace: acme, function: echo } } ] }
        """.formatted(TestKafka.bootstrap(), Gateways.prefix("roles"), keys, ApiKeyAuthenticator.sha256Hex("globex-all"),
        fn.url("/echo"), fn.url("/echo")));
    http = new Http(gw.httpPort());
  }

  @AfterAll
  static void stop() {
    if (gw != null) gw.close();
    if (fn != null) fn.close();
  }

  private static HttpResponse<String> invoke(String key) {
    return http.invoke(key, "acme", "echo", "{}");
  }

  @Test
  void eachRoleReachesItsRoutesAndIsRefusedTheOthers() {
    String id = new JsonObject(invoke(KEYS.get("invoke")).body()).getString("id");
    Map<String, Function<String, HttpResponse<String>>> routes = new LinkedHashMap<>();
    routes.put("invoke", key -> invoke(key));
    routes.put("invoke (sync)", key -> http.send(http.request("/v1/namespaces/acme/functions/echo", key)
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build()));
    routes.put("invoke (events)", key -> http.send(http.request("/v1/namespaces/acme/events", key).header("ce-specversion", "1.0")
        .header("ce-type", "t").header("ce-source", "/s").header("ce-id", "e-" + key).POST(HttpRequest.BodyPublishers.ofString("{}")).build()));
    routes.put("read (status)", key -> http.get("/v1/invocations/" + id, key));
    routes.put("read (result)", key -> http.get("/v1/invocations/" + id + "/result", key));
    routes.put("admin (dead letters)", key -> http.get("/v1/deadletters", key));
    Map<String, String> needs = Map.of("invoke", "invoke", "invoke (sync)", "invoke", "invoke (events)", "invoke",
        "read (status)", "read", "read (result)", "read", "admin (dead letters)", "admin");
    for (var route : routes.entrySet()) {
      for (var key : KEYS.entrySet()) {
        HttpResponse<String> r = route.getValue().apply(key.getValue());
        boolean allowed = needs.get(route.getKey()).equals(key.getKey());
        if (allowed) {
          assertThat(r.statusCode()).as("%s with role %s: %s", route.getKey(), key.getKey(), r.body()).isBetween(200, 299);
        } else {
          assertThat(r.statusCode()).as("%s with role %s", route.getKey(), key.getKey()).isEqualTo(403);
          assertThat(new JsonObject(r.body()).getString("error")).isEqualTo("missing_role");
        }
      }
    }
    // Cancel is the invoker's: read alone may not.
    String queued = new JsonObject(invoke(KEYS.get("invoke")).body()).getString("id");
    assertThat(http.send(http.request("/v1/invocations/" + queued, KEYS.get("read")).DELETE().build()).statusCode()).isEqualTo(403);
  }

  @Test
  void anotherTenantsIdsAreNotFoundToReadFetchOrCancel() {
    String id = new JsonObject(invoke(KEYS.get("invoke")).body()).getString("id");
    for (HttpResponse<String> r : List.of(http.get("/v1/invocations/" + id, "globex-all"),
        http.get("/v1/invocations/" + id + "/result", "globex-all"),
        http.send(http.request("/v1/invocations/" + id, "globex-all").DELETE().build()))) {
      assertThat(r.statusCode()).isEqualTo(404);
      assertThat(new JsonObject(r.body()).getString("error")).isEqualTo("invocation_not_found");
    }
    assertThat(http.invoke("globex-all", "acme", "echo", "{}").statusCode()).as("another tenant's namespace").isEqualTo(403);
  }
}
