package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_ADMIN_KEY;
import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static dev.conveyor.engine.testing.Gateways.GLOBEX_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.cli.Cli;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Ports;
import dev.conveyor.engine.testing.TestKafka;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The command line's client commands against a real gateway (one for the class, on the shared test
 * broker), run in-process through picocli with captured output and exit codes; and a few through
 * the real {@code bin/conveyor} and {@code bin/kn-conveyor} scripts.
 */
class CliIT {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final ObjectMapper JSON = new ObjectMapper();
  static FunctionServer fn;
  static Conveyor gw;
  static String url;
  static Path gatewayConfig;
  static Path home;

  record Run(int code, String out, String err) {
    JsonNode json() throws Exception {
      return JSON.readTree(out);
    }
  }

  @BeforeAll
  static void start() throws Exception {
    fn = new FunctionServer().behave(call -> switch (call.path()) {
      case "/bad" -> new Answer(400, 0, "{\"error\":\"bad input\"}");
      case "/unavailable" -> new Answer(503, 0, "busy", "30");
      default -> Answer.ok();
    });
    String functions = """
        - { namespace: acme, name: echo, url: "%s" }
        - { namespace: acme, name: bad, url: "%s" }
        - { namespace: acme, name: broken, url: "%s" }
        - { namespace: acme, name: unavailable, url: "%s", delivery: { retry: 5, backoffDelay: PT30S } }
        """.formatted(fn.url("/echo"), fn.url("/bad"), fn.url("/bad"), fn.url("/unavailable"));
    String yaml = Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("cli"), functions, null);
    gw = Gateways.start(yaml);
    url = "http://127.0.0.1:" + gw.httpPort();
    Path dir = Files.createTempDirectory("conveyor-cli-it");
    gatewayConfig = Files.writeString(dir.resolve("conveyor.yaml"), yaml);
    home = Files.createDirectories(dir.resolve("home"));
  }

  @AfterAll
  static void stop() {
    if (gw != null) gw.close();
    if (fn != null) fn.close();
  }

  /** The command line in-process, with {@code env} only (a HOME without a config file unless a test writes one). */
  static Run cli(Map<String, String> env, String stdin, String... args) {
    Map<String, String> e = new HashMap<>();
    e.put("HOME", home.toString());
    e.put("CONVEYOR_CONFIG", gatewayConfig.toString());
    e.putAll(env);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Cli.run(args, e, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), new PrintWriter(out, true),
        new PrintWriter(err, true), false);
    return new Run(code, out.toString(), err.toString());
  }

  static Run as(String token, String... args) {
    return cli(Map.of("CONVEYOR_URL", url, "CONVEYOR_TOKEN", token), "", args);
  }

  static Run acme(String... args) {
    return as(ACME_KEY, args);
  }

  static String invoke(String fn, String data) {
    Run r = acme("invoke", fn, "--data", data);
    assertThat(r.code()).as(r.err()).isZero();
    return r.out().strip();
  }

  static void awaitStatus(String id, String status) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(acme("status", id, "-o", "json").json().path("status").asText())
        .isEqualTo(status));
  }

  @Test
  void invokeIsAsyncAndPrintsTheIdWaitFollowsItAndPrintsTheResult() throws Exception {
    Run async = acme("invoke", "acme/echo", "--data", "{\"n\":1}");
    assertThat(async.code()).as(async.err()).isZero();
    assertThat(async.out()).matches("[0-9a-f-]{36}\\R");
    Run json = acme("invoke", "acme/echo", "--data", "{}", "-o", "json");
    assertThat(json.json().path("status").asText()).isEqualTo("queued");

    Run waited = acme("invoke", "acme/echo", "--data", "{\"hello\":\"world\"}", "--wait", "--timeout", "30s");
    assertThat(waited.code()).as(waited.err()).isZero();
    assertThat(waited.out()).isEqualTo("{\"hello\":\"world\"}");

    Run stdin = cli(Map.of("CONVEYOR_URL", url, "CONVEYOR_TOKEN", ACME_KEY), "from stdin", "invoke", "acme/echo", "-", "--wait",
        "--content-type", "text/plain");
    assertThat(stdin.code()).as(stdin.err()).isZero();
    assertThat(stdin.out()).isEqualTo("from stdin");
    assertThat(fn.calls().stream().filter(c -> "from stdin".equals(c.body())).findFirst().orElseThrow().headers().get("content-type"))
        .isEqualTo("text/plain");

    Path file = Files.writeString(Files.createTempFile("payload", ".json"), "{\"from\":\"file\"}");
    Run fromFile = acme("invoke", "acme/echo", "--data-file", file.toString(), "--wait", "--idempotency-key", "cli-" + System.nanoTime());
    assertThat(fromFile.out()).isEqualTo("{\"from\":\"file\"}");

    Run sync = acme("invoke", "acme/echo", "--sync", "--data", "sync!");
    assertThat(sync.code()).as(sync.err()).isZero();
    assertThat(sync.out()).isEqualTo("sync!");
  }

  @Test
  void aFailedInvocationExits1AndSaysWhatToDo() {
    Run waited = acme("invoke", "acme/bad", "--data", "{}", "--wait");
    assertThat(waited.code()).isEqualTo(Cli.FAILED);
    assertThat(waited.out()).isEqualTo("{\"error\":\"bad input\"}");
    assertThat(waited.err()).contains(" failed after 1 attempt(s), last HTTP 400").contains("'conveyor dlq redrive ");

    Run sync = acme("invoke", "acme/bad", "--sync", "--data", "{}");
    assertThat(sync.code()).isEqualTo(Cli.FAILED);
    assertThat(sync.err()).contains("the function answered HTTP 400");

    Run unknownFn = acme("invoke", "acme/nope", "--data", "{}");
    assertThat(unknownFn.code()).isEqualTo(Cli.REFUSED);
    assertThat(unknownFn.err()).startsWith("conveyor: ").contains("function_not_found, HTTP 404").hasLineCount(1);

    Run badTarget = acme("invoke", "echo", "--data", "{}");
    assertThat(badTarget.code()).isEqualTo(Cli.USAGE);
    assertThat(badTarget.err()).contains("expected NS/FN").hasLineCount(1);
    Run twoPayloads = acme("invoke", "acme/echo", "--data", "{}", "-");
    assertThat(twoPayloads.code()).isEqualTo(Cli.USAGE);
  }

  @Test
  void statusShowsATableJsonOrYamlAndWatchFollowsToTheEnd() throws Exception {
    String id = invoke("acme/echo", "{}");
    Run watch = acme("status", id, "--watch");
    assertThat(watch.code()).as(watch.err()).isZero();
    assertThat(watch.out()).containsPattern("status: +succeeded").contains("ATTEMPT  STARTED");

    Run table = acme("status", id);
    assertThat(table.out()).containsPattern("id: +" + id).containsPattern("function: +echo").containsPattern("attempts: +1");
    assertThat(acme("status", id, "-o", "json").json().path("history").size()).isEqualTo(1);
    assertThat(acme("status", id, "-o", "yaml").out()).contains("status: \"succeeded\"");

    Run other = as(GLOBEX_KEY, "status", id);
    assertThat(other.code()).as("another tenant's id").isEqualTo(Cli.REFUSED);
    assertThat(other.err()).contains("invocation_not_found, HTTP 404").hasLineCount(1);
    assertThat(other.out()).isEmpty();

    String bad = invoke("acme/bad", "{}");
    Run watchBad = acme("status", bad, "--watch");
    assertThat(watchBad.code()).isEqualTo(Cli.FAILED);
  }

  @Test
  void resultPrintsTheBodyAndRefusesAnotherTenantsId() {
    String id = invoke("acme/echo", "{\"r\":1}");
    awaitStatus(id, "succeeded");
    Run r = acme("result", id);
    assertThat(r.code()).isZero();
    assertThat(r.out()).isEqualTo("{\"r\":1}");
    Run other = as(GLOBEX_KEY, "result", id);
    assertThat(other.code()).isEqualTo(Cli.REFUSED);
    assertThat(other.err()).contains("HTTP 404");
    assertThat(acme("result", "not-an-id").code()).isEqualTo(Cli.REFUSED);
  }

  @Test
  void cancelStopsARetryingInvocationOnceThenRefuses() {
    String id = invoke("acme/unavailable", "{}");
    awaitStatus(id, "retrying");
    assertThat(as(GLOBEX_KEY, "cancel", id).code()).as("another tenant's id").isEqualTo(Cli.REFUSED);
    Run cancel = acme("cancel", id);
    assertThat(cancel.code()).as(cancel.err()).isZero();
    assertThat(cancel.out()).isEqualTo(id + " cancelled" + System.lineSeparator());
    awaitStatus(id, "cancelled");
    Run again = acme("cancel", id);
    assertThat(again.code()).isEqualTo(Cli.REFUSED);
    assertThat(again.err()).contains("already ended (cancelled)");
    Run result = acme("result", id);
    assertThat(result.code()).isEqualTo(Cli.REFUSED);
  }

  @Test
  void deadLettersAreListedShownAndRedriven() throws Exception {
    List<String> dead = new ArrayList<>();
    for (int i = 0; i < 3; i++) dead.add(invoke("acme/broken", "{\"order\":" + i + "}"));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Run list = as(ACME_ADMIN_KEY, "dlq", "list", "--function", "broken");
      assertThat(list.code()).as(list.err()).isZero();
      assertThat(list.out()).contains(dead);
    });
    assertThat(as(ACME_ADMIN_KEY, "dlq", "list", "-o", "json", "--function", "acme/broken").json().size()).isEqualTo(3);
    Run notAdmin = acme("dlq", "list");
    assertThat(notAdmin.code()).isEqualTo(Cli.REFUSED);
    assertThat(notAdmin.err()).contains("missing_role, HTTP 403");

    Run show = as(ACME_ADMIN_KEY, "dlq", "show", dead.get(0));
    assertThat(show.code()).as(show.err()).isZero();
    assertThat(show.out()).contains("dead since:").containsPattern("status: +failed");
    assertThat(as(ACME_ADMIN_KEY, "dlq", "show", "00000000-0000-0000-0000-000000000000").code()).isEqualTo(Cli.REFUSED);

    Run all = as(ACME_ADMIN_KEY, "dlq", "redrive", "--all", "--function", "broken", "-o", "json");
    assertThat(all.code()).as(all.err()).isZero();
    assertThat(all.err()).contains("redrove 3 of 3");
    JsonNode redriven = all.json();
    assertThat(redriven.size()).isEqualTo(3);
    for (JsonNode r : redriven) assertThat(r.path("id").asText()).isNotEqualTo(r.path("redriveOf").asText()).isNotBlank();
    // (each redriven one fails again and becomes a new dead letter: --all counted those listed when it ran)

    Run one = as(ACME_ADMIN_KEY, "dlq", "redrive", dead.get(0));
    assertThat(one.code()).as(one.err()).isZero();
    assertThat(one.err()).contains("redrove 1 of 1");

    Run mixed = as(ACME_ADMIN_KEY, "dlq", "redrive", dead.get(1), "00000000-0000-0000-0000-000000000000");
    assertThat(mixed.code()).isEqualTo(Cli.REFUSED);
    assertThat(mixed.err()).contains("redrove 1 of 2; 1 not: 00000000-0000-0000-0000-000000000000: ");

    Run allWithoutFunction = as(ACME_ADMIN_KEY, "dlq", "redrive", "--all");
    assertThat(allWithoutFunction.code()).isEqualTo(Cli.USAGE);
    assertThat(allWithoutFunction.err()).contains("--all needs --function").hasLineCount(1);
  }

  @Test
  void usageShowsTheRollupsPerFunction() throws Exception {
    invoke("acme/echo", "{\"usage\":true}");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Run u = acme("usage", "--group-by", "function");
      assertThat(u.code()).as(u.err()).isZero();
      assertThat(u.out()).contains("FUNCTION").contains("acme/echo").contains("TOTAL");
    });
    JsonNode json = acme("usage", "-o", "json", "--from", Instant.now().minus(Duration.ofHours(2)).toString()).json();
    assertThat(json.path("groupBy").asText()).isEqualTo("hour");
    assertThat(json.path("total").path("invocations").asLong()).isPositive();
    Run badGroup = acme("usage", "--group-by", "day");
    assertThat(badGroup.code()).isEqualTo(Cli.USAGE);
    assertThat(as(GLOBEX_KEY, "usage").code()).as("globex's key lacks role usage").isEqualTo(Cli.REFUSED);
  }

  @Test
  void usageExportWritesAFileRefusesToOverwriteItAndRefusesUnknownFlags() throws Exception {
    String id = invoke("acme/echo", "{\"export\":true}");
    awaitStatus(id, "succeeded");
    String from = Instant.now().minus(Duration.ofHours(1)).toString();
    String to = Instant.now().plus(Duration.ofHours(1)).toString();
    Path out = Files.createTempDirectory("export").resolve("usage.csv");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Files.deleteIfExists(out);
      Run r = cli(Map.of(), "", "usage", "export", "--from", from, "--to", to, "--tenant", "acme", "--out", out.toString());
      assertThat(r.code()).as(r.err()).isZero();
      assertThat(Files.readString(out)).startsWith("type,id,time,tenant").contains(id);
    });

    Files.writeString(out, "keep me");
    Run again = cli(Map.of(), "", "usage", "export", "--from", from, "--to", to, "--out", out.toString());
    assertThat(again.code()).isEqualTo(Cli.USAGE);
    assertThat(again.err()).contains("exists: give --force to overwrite it");
    assertThat(Files.readString(out)).isEqualTo("keep me");
    Run forced = cli(Map.of(), "", "usage", "export", "--from", from, "--to", to, "--out", out.toString(), "--force", "--format", "json");
    assertThat(forced.code()).as(forced.err()).isZero();
    assertThat(JSON.readTree(out.toFile()).isArray()).isTrue();

    Run typo = cli(Map.of(), "", "usage", "export", "--from", from, "--to", to, "--tennant", "acme");
    assertThat(typo.code()).isEqualTo(Cli.USAGE);
    assertThat(typo.err()).contains("Unknown option").contains("'--tennant'").contains("did you mean --tenant?").hasLineCount(1);
    assertThat(typo.out()).as("nothing exported").isEmpty();
    Run noTenant = cli(Map.of(), "", "usage", "export", "--from", from, "--to", to, "--tenant", "acmee");
    assertThat(noTenant.code()).isEqualTo(Cli.USAGE);
    assertThat(noTenant.err()).contains("'acmee' is not a tenant").contains("acme, globex");
    Run badInstant = cli(Map.of(), "", "usage", "export", "--from", "yesterday", "--to", to);
    assertThat(badInstant.code()).isEqualTo(Cli.USAGE);
    assertThat(badInstant.err()).contains("'yesterday' is not an RFC 3339 instant").hasLineCount(1);
  }

  @Test
  void connectionSettingsComeFromFlagsEnvironmentOrAContextAndTheTokenIsNeverPrinted() throws Exception {
    String id = invoke("acme/echo", "{}");
    Run none = cli(Map.of("CONVEYOR_URL", url), "", "status", id);
    assertThat(none.code()).as("missing credentials").isEqualTo(Cli.USAGE);
    assertThat(none.err()).contains("no token: give --token, set CONVEYOR_TOKEN").hasLineCount(1);

    String secret = "s3cret-token-" + System.nanoTime();
    int closed = Ports.free();
    Run unreachable = cli(Map.of(), "", "status", id, "--url", "http://127.0.0.1:" + closed, "--token", secret);
    assertThat(unreachable.code()).isEqualTo(Cli.UNREACHABLE);
    assertThat(unreachable.err()).contains("cannot reach the gateway at http://127.0.0.1:" + closed).hasLineCount(1).doesNotContain(secret);
    Run wrongToken = cli(Map.of(), "", "status", id, "--url", url, "--token", secret);
    assertThat(wrongToken.code()).isEqualTo(Cli.REFUSED);
    assertThat(wrongToken.err()).contains("unauthenticated, HTTP 401").contains("Check the token").doesNotContain(secret);
    assertThat(wrongToken.out()).doesNotContain(secret);

    Path config = Files.writeString(Files.createTempFile("client", ".yaml"), """
        current-context: acme
        contexts:
          - { name: acme, url: "%s", token: "%s" }
          - { name: stale, url: "%s", token: "%s" }
        """.formatted(url, ACME_KEY, url, secret));
    Map<String, String> env = Map.of("CONVEYOR_CONFIG_FILE", config.toString());
    assertThat(cli(env, "", "status", id).code()).as("the current context").isZero();
    Run stale = cli(env, "", "status", id, "--context", "stale");
    assertThat(stale.code()).isEqualTo(Cli.REFUSED);
    assertThat(stale.err()).doesNotContain(secret);
    assertThat(cli(env, "", "status", id, "--context", "stale", "--token", ACME_KEY).code()).as("a flag wins over the context").isZero();
    Run unknown = cli(env, "", "status", id, "--context", "prod");
    assertThat(unknown.code()).isEqualTo(Cli.USAGE);
    assertThat(unknown.err()).contains("no context 'prod'").contains("(contexts: acme, stale)");
    Run missingFile = cli(Map.of("CONVEYOR_CONFIG_FILE", config + ".missing"), "", "status", id);
    assertThat(missingFile.code()).isEqualTo(Cli.USAGE);

    Files.writeString(config, "contexts: [ { name: x, token: \"" + secret + "\" ");
    Run broken = cli(env, "", "status", id);
    assertThat(broken.code()).isEqualTo(Cli.USAGE);
    assertThat(broken.err()).contains("is not valid YAML").doesNotContain(secret);
  }

  @Test
  void badCommandLinesAreOneLineAndExit2() {
    Run unknownCommand = acme("frobnicate");
    assertThat(unknownCommand.code()).isEqualTo(Cli.USAGE);
    assertThat(unknownCommand.err()).hasLineCount(1);
    Run count = cli(Map.of(), "", "demo", "--count", "lots");
    assertThat(count.code()).isEqualTo(Cli.USAGE);
    assertThat(count.err()).contains("--count").contains("'lots'").hasLineCount(1);
    assertThat(cli(Map.of(), "", "demo", "--count", "0").code()).isEqualTo(Cli.USAGE);
    Run timeout = acme("invoke", "acme/echo", "--wait", "--timeout", "soon");
    assertThat(timeout.code()).isEqualTo(Cli.USAGE);
    assertThat(timeout.err()).contains("'soon' is not a duration").hasLineCount(1);
    Run output = acme("status", "x", "-o", "xml");
    assertThat(output.code()).isEqualTo(Cli.USAGE);
    Run help = acme("--help");
    assertThat(help.code()).isZero();
    assertThat(help.out()).contains("invoke").contains("Exit codes:");
  }

  @Test
  void theRealScriptsRunTheClientWithoutVertxOrKafka() throws Exception {
    String id = invoke("acme/echo", "{\"script\":1}");
    awaitStatus(id, "succeeded");
    Path dir = Files.createTempDirectory("conveyor-cli-script");
    Path classes = dir.resolve("classes.log");
    Process p = script(dir, "bin/conveyor", "-Xlog:class+load=info:file=" + classes, "result", id).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(Files.readString(dir.resolve("err.log"))).isZero();
    assertThat(Files.readString(dir.resolve("out.log"))).isEqualTo("{\"script\":1}");
    String loaded = Files.readString(classes);
    assertThat(loaded).contains("picocli.CommandLine").doesNotContain("io.vertx.").doesNotContain("org.apache.kafka.")
        .doesNotContain("org.apache.logging.log4j.core");

    Process typo = script(dir, "bin/conveyor", "-Xmx256m", "usage", "export", "--from", "2026-01-01T00:00:00Z", "--to",
        "2026-01-02T00:00:00Z", "--tennant", "acme").start();
    assertThat(typo.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(typo.exitValue()).isEqualTo(2);
    assertThat(Files.readString(dir.resolve("err.log"))).contains("Unknown option").contains("'--tennant'").hasLineCount(1);

    // As kn finds the plugin: a link named kn-conveyor in a directory of the PATH.
    Path link = Files.createSymbolicLink(Files.createDirectories(dir.resolve("path")).resolve("kn-conveyor"), ROOT.resolve("bin/kn-conveyor"));
    Process kn = script(dir, link.toString(), "-Xmx128m", "status", id).start();
    assertThat(kn.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(kn.exitValue()).as(Files.readString(dir.resolve("err.log"))).isZero();
    assertThat(Files.readString(dir.resolve("out.log"))).containsPattern("status: +succeeded");
    Process up = script(dir, link.toString(), "-Xmx128m", "up").start();
    assertThat(up.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(up.exitValue()).as("the gateway is bin/conveyor's").isEqualTo(2);
    assertThat(Files.readString(dir.resolve("err.log"))).contains("use bin/conveyor up").hasLineCount(1);
  }

  private static ProcessBuilder script(Path dir, String script, String javaOpts, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ROOT.resolve(script).toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectOutput(dir.resolve("out.log").toFile()).redirectError(dir.resolve("err.log").toFile());
    pb.environment().put("CONVEYOR_URL", url);
    pb.environment().put("CONVEYOR_TOKEN", ACME_KEY);
    pb.environment().put("CONVEYOR_CONFIG", gatewayConfig.toString());
    pb.environment().put("CONVEYOR_JAVA_OPTS", javaOpts);
    return pb;
  }
}
