package dev.conveyor.engine.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conveyor.engine.testing.OpenApiDocument;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.openapi.contract.OpenAPIContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/openapi.yaml and the code agree: every route the routers register is in it and every path
 * in it is a route; every error code the code can answer is in it with its HTTP status, and it
 * lists no code the code never answers; and it is a valid OpenAPI 3.1 document.
 */
class OpenApiContractTest {
  private static final Path DOC = Path.of("..", "docs", "openapi.yaml");
  private static final Path SOURCES = Path.of("src", "main", "java");
  private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
  /** The admin port's server entry: a path that has it is the admin router's, the others the API's. */
  private static final String ADMIN_SERVER = "http://localhost:9090";

  static Vertx vertx;
  static JsonObject doc;

  @BeforeAll
  static void load() {
    vertx = Vertx.vertx();
    doc = OpenApiDocument.load();
  }

  @AfterAll
  static void close() {
    vertx.close().await();
  }

  // ---- routes ----

  @Test
  void everyApiRouteIsInTheDocumentAndEveryApiPathIsARoute() {
    Set<String> routes = routes(apiRouter());
    System.out.println("API routes: " + routes);
    assertThat(routeDifferences(routes, operations(doc, false))).isEmpty();
    assertThat(routes).contains("POST /v1/namespaces/{ns}/functions/{fn}/invocations", "POST /async-function/{fn}",
        "POST /v1/deadletters/{}:redrive");
  }

  @Test
  void everyAdminRouteIsInTheDocumentAndEveryAdminPathIsARoute() {
    Set<String> routes = routes(AdminRoutes.router(vertx, () -> null, null));
    System.out.println("admin routes: " + routes);
    assertThat(routeDifferences(routes, operations(doc, true))).isEmpty();
    assertThat(routes).contains("GET /openapi.yaml", "GET /healthz", "GET /readyz", "GET /metrics");
  }

  @Test
  void aRouteMissingFromTheDocumentOrAPathThatIsNoRouteIsReported() {
    JsonObject lost = doc.copy();
    lost.getJsonObject("paths").remove("/v1/invocations/{id}/result");
    List<String> d = routeDifferences(routes(apiRouter()), operations(lost, false));
    System.out.println("with GET /v1/invocations/{id}/result taken out of the document: " + d);
    assertThat(d).containsExactly("route not in the document: GET /v1/invocations/{id}/result");

    JsonObject extra = doc.copy();
    extra.getJsonObject("paths").put("/v1/nothing", new JsonObject().put("get", new JsonObject()));
    assertThat(routeDifferences(routes(apiRouter()), operations(extra, false)))
        .containsExactly("in the document but no route: GET /v1/nothing");
  }

  /** The API router as production builds it, with handlers that are never called. */
  private static Router apiRouter() {
    AcceptHandler accept = new AcceptHandler(null, null, null, null, null, null, null, null);
    SyncHandler sync = new SyncHandler(null, accept, null, null, null);
    return ApiRoutes.router(vertx, ctx -> ctx.next(), accept, sync, new InvocationsHandler(null, null, null),
        new DeadLettersHandler(null, null, null, null, null, null), new UsageHandler(null, null, null, null, null), ctx -> ctx.next());
  }

  /**
   * "METHOD /path" of every route that names methods (the auth and failure routes name none), Vert.x'
   * {@code :param} written {@code {param}}; a regex route's capture groups are {@code {}}.
   */
  static Set<String> routes(Router router) {
    Set<String> out = new TreeSet<>();
    for (Route r : router.getRoutes()) {
      if (r.methods() == null || r.methods().isEmpty()) continue;
      // A path with :params is a regex route to Vert.x too; its name is the path as registered.
      String path = (r.getPath() != null ? r.getPath() : r.getName()).replaceAll("(?<=/):(\\w+)", "{$1}")
          .replaceAll("\\((?:[^()\\\\]|\\\\.)*\\)", "{}");
      assertThat(path).as("a route is a path with parameters or capture groups").doesNotContainPattern("[\\[\\]()*+?^$|\\\\]");
      for (HttpMethod m : r.methods()) out.add(m.name() + " " + path);
    }
    return out;
  }

  /** "METHOD /path" of the document's operations on the admin port ({@code admin}) or on the API. */
  static Set<String> operations(JsonObject d, boolean admin) {
    Set<String> out = new TreeSet<>();
    JsonObject paths = d.getJsonObject("paths");
    for (String p : paths.fieldNames()) {
      JsonObject item = paths.getJsonObject(p);
      boolean onAdmin = item.containsKey("servers")
          && item.getJsonArray("servers").stream().anyMatch(s -> ADMIN_SERVER.equals(((JsonObject) s).getString("url")));
      if (onAdmin != admin) continue;
      for (String m : item.fieldNames()) if (METHODS.contains(m)) out.add(m.toUpperCase() + " " + p);
    }
    return out;
  }

  /**
   * What differs; a regex route ({@code {}} for its groups) matches a document path of the same
   * shape whatever its parameters' names.
   */
  static List<String> routeDifferences(Set<String> routes, Set<String> documented) {
    List<String> out = new ArrayList<>();
    Map<String, String> docByShape = new TreeMap<>();
    documented.forEach(o -> docByShape.put(o.replaceAll("\\{[^}]*}", "{}"), o));
    Set<String> matched = new TreeSet<>();
    for (String r : routes) {
      String found = documented.contains(r) ? r : r.contains("{}") ? docByShape.get(r) : null;
      if (found == null) out.add("route not in the document: " + r);
      else matched.add(found);
    }
    for (String o : documented) if (!matched.contains(o)) out.add("in the document but no route: " + o);
    return out;
  }

  // ---- error codes ----

  @Test
  void everyErrorCodeTheCodeAnswersIsInTheDocumentWithItsStatusAndNoOther() {
    Set<String> emitted = emittedCodes();
    Set<String> documented = documentedCodes(doc);
    System.out.println(emitted.size() + " status/code pairs in the code: " + emitted);
    assertThat(codeDifferences(emitted, documented)).isEmpty();
    // The scan finds what it must: codes from the factories, constructors, ternaries and FailureHandler's defaults.
    assertThat(emitted).contains("400 invalid_json", "400 invalid_range", "400 invalid_from", "400 invalid_to",
        "404 usage_record_not_found", "500 internal_error", "401 unauthenticated",
        "503 kafka_unavailable", "503 store_outcome_unknown", "413 payload_too_large", "503 revision_not_ready",
        "503 revision_overloaded", "405 method_not_allowed", "404 not_found", "429 concurrency_limited");
  }

  @Test
  void aCodeMissingFromTheDocumentIsReported() {
    JsonObject lost = doc.copy();
    lost.getJsonObject("components").getJsonObject("schemas").getJsonObject("NotFoundError").getJsonArray("allOf")
        .getJsonObject(1).getJsonObject("properties").getJsonObject("error").getJsonArray("enum").remove("usage_record_not_found");
    List<String> d = codeDifferences(emittedCodes(), documentedCodes(lost));
    System.out.println("with usage_record_not_found taken out of the document: " + d);
    assertThat(d).containsExactly("answered by the code, not in the document: 404 usage_record_not_found");
  }

  @Test
  void anErrorCodeTheScanCannotReadFailsIt() {
    assertThatThrownBy(() -> codesIn("x.java", "throw ApiError.badRequest(\"invalid_\" + name, \"m\");"))
        .hasMessageContaining("invalid_\" + name");
    assertThat(codesIn("x.java", "new ApiError(503, up ? \"a_b\" : down(\"x\") ? \"c_d\" : \"e_f\", \"m\", 1L)"))
        .containsExactlyInAnyOrder("503 a_b", "503 c_d", "503 e_f");
    // comments are not code
    assertThat(codesIn("x.java", "// new ApiError(400, \"nope\", \"m\")\n/* ApiError.notFound(\"nope\", \"m\") */")).isEmpty();
  }

  static List<String> codeDifferences(Set<String> emitted, Set<String> documented) {
    List<String> out = new ArrayList<>();
    for (String c : emitted) if (!documented.contains(c)) out.add("answered by the code, not in the document: " + c);
    for (String c : documented) if (!emitted.contains(c)) out.add("in the document, never answered by the code: " + c);
    return out;
  }

  /**
   * "STATUS code" of every response the document describes: each operation's responses by their
   * status, and the shared responses under components by their {@code x-status}; the codes are the
   * {@code error} enum of the response's JSON schema (through {@code $ref} and {@code allOf}).
   */
  static Set<String> documentedCodes(JsonObject d) {
    Set<String> out = new TreeSet<>();
    JsonObject shared = d.getJsonObject("components").getJsonObject("responses");
    for (String name : shared.fieldNames()) {
      JsonObject resp = shared.getJsonObject(name);
      for (String code : codesOf(d, resp)) {
        assertThat(resp.getValue("x-status")).as("components.responses." + name + " answers error codes: its x-status").isNotNull();
        out.add(resp.getValue("x-status") + " " + code);
      }
    }
    JsonObject paths = d.getJsonObject("paths");
    for (String p : paths.fieldNames()) {
      for (String m : paths.getJsonObject(p).fieldNames()) {
        if (!METHODS.contains(m)) continue;
        JsonObject responses = paths.getJsonObject(p).getJsonObject(m).getJsonObject("responses");
        for (String status : responses.fieldNames()) {
          JsonObject resp = responses.getJsonObject(status);
          Object declared = resp.containsKey("$ref") ? ((JsonObject) resolve(d, resp.getString("$ref"))).getValue("x-status") : null;
          if (declared != null) {
            assertThat(String.valueOf(declared)).as(m + " " + p + " answers " + resp.getString("$ref") + " as " + status).isEqualTo(status);
          }
          for (String code : codesOf(d, resp)) out.add(status + " " + code);
        }
      }
    }
    return out;
  }

  private static Set<String> codesOf(JsonObject d, JsonObject response) {
    JsonObject r = response.containsKey("$ref") ? (JsonObject) resolve(d, response.getString("$ref")) : response;
    JsonObject content = r.getJsonObject("content");
    Set<String> out = new TreeSet<>();
    if (content == null || !content.containsKey("application/json")) return out;
    collectErrorEnum(d, content.getJsonObject("application/json").getJsonObject("schema"), out);
    return out;
  }

  private static void collectErrorEnum(JsonObject d, JsonObject schema, Set<String> out) {
    if (schema == null) return;
    if (schema.containsKey("$ref")) collectErrorEnum(d, (JsonObject) resolve(d, schema.getString("$ref")), out);
    if (schema.containsKey("allOf")) schema.getJsonArray("allOf").forEach(s -> collectErrorEnum(d, (JsonObject) s, out));
    JsonObject props = schema.getJsonObject("properties");
    if (props != null && props.getJsonObject("error") != null && props.getJsonObject("error").containsKey("enum")) {
      props.getJsonObject("error").getJsonArray("enum").forEach(c -> out.add((String) c));
    }
  }

  private static Object resolve(JsonObject d, String ref) {
    assertThat(ref).startsWith("#/");
    Object node = d;
    for (String part : ref.substring(2).split("/")) node = ((JsonObject) node).getValue(part.replace("~1", "/").replace("~0", "~"));
    assertThat(node).as(ref).isNotNull();
    return node;
  }

  /** "STATUS code" of every error the main sources can answer. */
  static Set<String> emittedCodes() {
    Set<String> out = new TreeSet<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) out.addAll(codesIn(f.toString(), Files.readString(f)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** The factories of ApiError that take a code, and the status each gives it: read from ApiError.java itself. */
  private static Map<String, Integer> factories() {
    try {
      String src = stripComments(Files.readString(SOURCES.resolve("dev/conveyor/engine/http/ApiError.java")));
      Map<String, Integer> out = new TreeMap<>();
      Matcher m = Pattern.compile("static\\s+ApiError\\s+(\\w+)\\s*\\(\\s*String\\s+code\\b[^)]*\\)\\s*\\{\\s*return\\s+new\\s+ApiError\\s*\\(\\s*(\\d{3})\\s*,\\s*code\\s*,")
          .matcher(src);
      while (m.find()) out.put(m.group(1), Integer.parseInt(m.group(2)));
      assertThat(out).as("ApiError's factories that take a code").containsKeys("badRequest", "forbidden", "notFound");
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final Pattern CALL = Pattern.compile("\\bnew\\s+ApiError\\s*\\(|\\bApiError\\s*\\.\\s*(\\w+)\\s*\\(");

  /**
   * The "STATUS code" pairs of {@code new ApiError(status, code, ...)} and {@code ApiError.factory(code, ...)}
   * in one source. A code must be a string literal, or a conditional whose branches are; the status of
   * {@code new ApiError} an int literal. Anything else fails: a code the scan cannot read would be a
   * code the document may miss. Only ApiError.java itself passes its {@code code} parameter on.
   */
  static Set<String> codesIn(String file, String source) {
    String src = stripComments(source);
    Map<String, Integer> factories = factories();
    Set<String> out = new TreeSet<>();
    Matcher m = CALL.matcher(src);
    boolean apiError = file.replace('\\', '/').endsWith("dev/conveyor/engine/http/ApiError.java");
    while (m.find()) {
      List<String> args = arguments(src, m.end());
      String status;
      String code;
      if (m.group(1) == null) {
        if (args.size() < 3) continue;
        status = args.get(0).trim();
        code = args.get(1).trim();
      } else {
        Integer s = factories.get(m.group(1));
        if (s == null) continue; // a factory with a fixed code (declared in ApiError.java, where the scan reads it)
        status = Integer.toString(s);
        code = args.get(0).trim();
      }
      if (apiError && code.equals("code")) continue; // the factories and constructors passing theirs on
      if (!status.matches("\\d{3}")) throw new AssertionError(file + ": the status of an ApiError is not an int literal: " + status);
      for (String c : literals(file, code)) out.add(status + " " + c);
    }
    return out;
  }

  /** The codes an expression can be: a literal, or {@code cond ? a : b} with a and b such expressions. */
  private static List<String> literals(String file, String expr) {
    String e = expr.trim();
    int q = topLevel(e, '?', 0);
    if (q >= 0) {
      int colon = topLevel(e, ':', q + 1);
      if (colon < 0) throw new AssertionError(file + ": cannot read the error code " + expr);
      List<String> out = new ArrayList<>(literals(file, e.substring(q + 1, colon)));
      out.addAll(literals(file, e.substring(colon + 1)));
      return out;
    }
    if (!e.matches("\"[a-z][a-z0-9_]*\"")) throw new AssertionError(file + ": cannot read the error code " + expr);
    return List.of(e.substring(1, e.length() - 1));
  }

  /** The index of {@code c} at depth 0 (outside brackets and strings) from {@code from}, or -1. */
  private static int topLevel(String s, char c, int from) {
    int depth = 0;
    for (int i = from; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '"' || ch == '\'') {
        i = endOfLiteral(s, i);
      } else if (ch == '(' || ch == '[' || ch == '{') {
        depth++;
      } else if (ch == ')' || ch == ']' || ch == '}') {
        depth--;
      } else if (ch == c && depth == 0) {
        return i;
      }
    }
    return -1;
  }

  /** The arguments of the call whose '(' ends just before {@code start}. */
  private static List<String> arguments(String s, int start) {
    List<String> args = new ArrayList<>();
    int depth = 0;
    int argStart = start;
    for (int i = start; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '"' || ch == '\'') {
        i = endOfLiteral(s, i);
      } else if (ch == '(' || ch == '[' || ch == '{') {
        depth++;
      } else if (ch == ')' && depth == 0) {
        args.add(s.substring(argStart, i));
        return args;
      } else if (ch == ')' || ch == ']' || ch == '}') {
        depth--;
      } else if (ch == ',' && depth == 0) {
        args.add(s.substring(argStart, i));
        argStart = i + 1;
      }
    }
    throw new AssertionError("unbalanced call at " + start);
  }

  /** The index of the quote closing the literal that opens at {@code i}. */
  private static int endOfLiteral(String s, int i) {
    char quote = s.charAt(i);
    if (quote == '"' && s.startsWith("\"\"\"", i)) {
      int end = s.indexOf("\"\"\"", i + 3);
      return end < 0 ? s.length() : end + 2;
    }
    for (int j = i + 1; j < s.length(); j++) {
      if (s.charAt(j) == '\\') j++;
      else if (s.charAt(j) == quote) return j;
    }
    return s.length();
  }

  /** The source without its comments (string literals kept as they are). */
  static String stripComments(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '"' || ch == '\'') {
        int end = Math.min(endOfLiteral(s, i), s.length() - 1);
        out.append(s, i, end + 1);
        i = end;
      } else if (s.startsWith("//", i)) {
        int nl = s.indexOf('\n', i);
        i = nl < 0 ? s.length() : nl - 1;
      } else if (s.startsWith("/*", i)) {
        int end = s.indexOf("*/", i + 2);
        out.append(' ');
        i = end < 0 ? s.length() : end + 1;
      } else {
        out.append(ch);
      }
    }
    return out.toString();
  }

  // ---- the document itself ----

  @Test
  void theDocumentIsValidOpenApi31() {
    assertThat(doc.getString("openapi")).startsWith("3.1.");
    OpenAPIContract contract = OpenApiDocument.contract(vertx, doc);
    assertThat(contract.getVersion().name()).isEqualTo("V3_1");
    assertThat(contract.operation("acceptInvocation")).isNotNull();
    assertThat(contract.operation("redriveDeadLetter")).isNotNull();
  }

  /** The document as it is (no adaptation for vertx-openapi 5.0's limits), by swagger-parser: no message at all. */
  @Test
  void swaggerParserFindsNothingWrongWithTheDocument() throws IOException {
    io.swagger.v3.parser.core.models.ParseOptions options = new io.swagger.v3.parser.core.models.ParseOptions();
    options.setResolve(true);
    var result = new io.swagger.v3.parser.OpenAPIV3Parser().readContents(Files.readString(DOC), null, options);
    assertThat(result.getMessages()).as("swagger-parser's messages").isEmpty();
    assertThat(result.getOpenAPI().getOpenapi()).isEqualTo("3.1.0");
    assertThat(result.getOpenAPI().getPaths()).containsKey("/v1/deadletters/{id}:redrive");

    String broken = Files.readString(DOC).replace("operationId: getUsage", "operationId: getUsage\n      responses: none");
    assertThat(new io.swagger.v3.parser.OpenAPIV3Parser().readContents(broken, null, options).getMessages())
        .as("what swagger-parser says of a document with two responses of getUsage").isNotEmpty();
  }

  @Test
  void anInvalidDocumentIsRefused() {
    JsonObject broken = doc.copy();
    broken.getJsonObject("paths").getJsonObject("/v1/usage").getJsonObject("get").put("responses", "none");
    assertThatThrownBy(() -> OpenApiDocument.contract(vertx, broken)).isInstanceOf(Exception.class);
  }

  @Test
  void theServedDocumentIsDocsOpenapiYaml() throws IOException {
    assertThat(AdminRoutes.openapi().toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(Files.readString(DOC));
  }

  @Test
  void operationIdsAreUniqueAndEveryPathParameterIsDeclared() {
    Set<String> ids = new TreeSet<>();
    JsonObject paths = doc.getJsonObject("paths");
    for (String p : paths.fieldNames()) {
      for (String m : paths.getJsonObject(p).fieldNames()) {
        if (!METHODS.contains(m)) continue;
        JsonObject op = paths.getJsonObject(p).getJsonObject(m);
        assertThat(ids.add(op.getString("operationId"))).as("operationId of " + m + " " + p).isTrue();
        Set<String> declared = new TreeSet<>();
        if (op.getJsonArray("parameters") != null) {
          op.getJsonArray("parameters").forEach(x -> {
            JsonObject prm = (JsonObject) x;
            JsonObject param = prm.containsKey("$ref") ? (JsonObject) resolve(doc, prm.getString("$ref")) : prm;
            if ("path".equals(param.getString("in"))) declared.add(param.getString("name"));
          });
        }
        Set<String> inPath = new TreeSet<>();
        Matcher pm = Pattern.compile("\\{(\\w+)}").matcher(p);
        while (pm.find()) inPath.add(pm.group(1));
        assertThat(declared).as("path parameters of " + m + " " + p).isEqualTo(inPath);
      }
    }
  }
}
