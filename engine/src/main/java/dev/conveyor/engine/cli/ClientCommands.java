package dev.conveyor.engine.cli;

import dev.conveyor.engine.time.Time;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The client commands: each calls a running gateway's HTTP API. */
final class ClientCommands {
  private static final Time CLOCK = Time.clocks();
  private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "expired", "cancelled");

  private ClientCommands() {}

  enum Format { table, json, yaml }

  /**
   * Where the gateway is and the credential to present: flags, else environment, else a context
   * of the client's config file (as kubectl's and kn's), not the gateway's own CONVEYOR_CONFIG.
   */
  static final class Connection {
    @Spec(Spec.Target.MIXEE) CommandSpec spec;

    @Option(names = "--url", paramLabel = "URL", description = "the gateway's API (else CONVEYOR_URL, the context's url, http://localhost:8080)")
    String url;

    @Option(names = "--token", paramLabel = "TOKEN", description = "API key or JWT (else CONVEYOR_TOKEN, the context's token); never printed")
    String token;

    @Option(names = "--context", paramLabel = "NAME", description = "a context of the config file (else CONVEYOR_CONTEXT, current-context)")
    String context;

    @Option(names = {"-o", "--output"}, paramLabel = "table|json|yaml", defaultValue = "table", description = "table (default), json or yaml")
    Format output;

    Client client() {
      Map<String, String> env = Cli.root(spec).env;
      Map<String, String> ctx = context(env);
      String u = first(url, env.get("CONVEYOR_URL"), ctx.get("url"), "http://localhost:8080");
      String t = first(token, env.get("CONVEYOR_TOKEN"), ctx.get("token"), null);
      URI parsed;
      try {
        parsed = URI.create(u.strip());
      } catch (IllegalArgumentException e) {
        parsed = null;
      }
      if (parsed == null || parsed.getHost() == null || !("http".equals(parsed.getScheme()) || "https".equals(parsed.getScheme()))) {
        throw new CliException(Cli.USAGE, "the gateway URL '" + u + "' is not an http(s) URL such as http://localhost:8080");
      }
      if (t == null || t.isBlank()) {
        throw new CliException(Cli.USAGE, "no token: give --token, set CONVEYOR_TOKEN, or add a context with a token to "
            + configFile(env) + " (see 'conveyor --help')");
      }
      String base = u.strip();
      while (base.endsWith("/")) base = base.substring(0, base.length() - 1);
      return new Client(base, t.strip());
    }

    private Map<String, String> context(Map<String, String> env) {
      String named = first(context, env.get("CONVEYOR_CONTEXT"), null, null);
      String explicitFile = env.get("CONVEYOR_CONFIG_FILE");
      Path file = configFile(env);
      JsonNode root;
      try {
        root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
      } catch (NoSuchFileException e) {
        if (explicitFile != null && !explicitFile.isBlank()) {
          throw new CliException(Cli.USAGE, "CONVEYOR_CONFIG_FILE names " + file + ", which does not exist");
        }
        if (named != null) throw new CliException(Cli.USAGE, "no context '" + named + "': there is no config file " + file);
        return Map.of();
      } catch (JsonProcessingException e) {
        // Only the place: Jackson's message may quote the file's text, a token included.
        var at = e.getLocation();
        throw new CliException(Cli.USAGE, file + " is not valid YAML" + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
      } catch (IOException e) {
        throw new CliException(Cli.USAGE, "cannot read " + file + ": " + e.getClass().getSimpleName());
      }
      if (root == null || root.isMissingNode() || root.isNull()) root = Client.JSON.createObjectNode();
      if (named == null) named = root.path("current-context").asText(null);
      List<String> names = new ArrayList<>();
      for (JsonNode c : root.path("contexts")) {
        String n = c.path("name").asText("");
        names.add(n);
        if (n.equals(named)) {
          Map<String, String> m = new LinkedHashMap<>();
          if (c.hasNonNull("url")) m.put("url", c.get("url").asText());
          if (c.hasNonNull("token")) m.put("token", c.get("token").asText());
          return m;
        }
      }
      if (named == null) return Map.of();
      throw new CliException(Cli.USAGE, "no context '" + named + "' in " + file + " (contexts: "
          + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
    }

    static Path configFile(Map<String, String> env) {
      String f = env.get("CONVEYOR_CONFIG_FILE");
      if (f != null && !f.isBlank()) return Path.of(f);
      String home = env.getOrDefault("HOME", System.getProperty("user.home"));
      return Path.of(home, ".config", "conveyor", "config.yaml");
    }

    private static String first(String a, String b, String c, String d) {
      for (String s : new String[] {a, b, c}) if (s != null && !s.isBlank()) return s;
      return d;
    }
  }

  /** What every client command shares: the connection, its output streams, a way to print. */
  abstract static class Base implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection conn;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }

    PrintWriter err() {
      return spec.commandLine().getErr();
    }

    boolean terminal() {
      return Cli.root(spec).terminal;
    }

    /** JSON or YAML of {@code node} for scripts; false when the output is a table. */
    boolean structured(JsonNode node) {
      if (conn.output == Format.table) return false;
      try {
        if (conn.output == Format.json) {
          out().println(Client.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node));
        } else {
          out().print(new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)).writeValueAsString(node));
        }
      } catch (JsonProcessingException e) {
        throw new CliException(Cli.FAILED, "cannot print the answer: " + e.getOriginalMessage());
      }
      out().flush();
      return true;
    }

    ParameterException usage(String message) {
      return new ParameterException(spec.commandLine(), message);
    }
  }

  static String path(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Rows as a kubectl-like table: upper-case headers, columns two spaces apart. */
  static void table(PrintWriter out, List<String> headers, List<List<String>> rows) {
    int[] w = new int[headers.size()];
    for (int i = 0; i < w.length; i++) w[i] = headers.get(i).length();
    for (List<String> r : rows) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], r.get(i).length());
    List<List<String>> all = new ArrayList<>();
    all.add(headers);
    all.addAll(rows);
    for (List<String> r : all) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < w.length; i++) {
        if (i > 0) b.append("  ");
        b.append(i == w.length - 1 ? r.get(i) : String.format("%-" + w[i] + "s", r.get(i)));
      }
      out.println(b.toString().stripTrailing());
    }
    out.flush();
  }

  static String text(JsonNode n, String field) {
    JsonNode v = n.path(field);
    return v.isMissingNode() || v.isNull() ? "-" : v.asText();
  }

  /** The exit code of a terminal status. */
  static int exitCode(String status) {
    return "succeeded".equals(status) ? Cli.OK : Cli.FAILED;
  }

  /** Follows an invocation's status until it ends or {@code timeout}: a spinner on a terminal, a line per change otherwise. */
  static JsonNode follow(Base cmd, Client c, String id, Duration timeout, boolean linesOnStdout) {
    long deadline = CLOCK.nanos() + timeout.toNanos();
    String[] spin = {"|", "/", "-", "\\"};
    String last = null;
    long pause = 100;
    for (int n = 0; ; n++) {
      Client.Response r = c.get("/v1/invocations/" + path(id));
      if (r.status() == 503) {
        // kafka_unavailable (a queued one not looked up in time): look again
        r = null;
      } else if (!r.ok()) {
        throw Client.apiError(r);
      }
      JsonNode s = r == null ? null : r.json();
      String status = s == null ? "unknown" : s.path("status").asText("unknown");
      String line = status + (s != null && s.path("attempts").asInt() > 0 ? " (attempt " + s.path("attempts").asInt() + ")" : "");
      if (s != null && TERMINAL.contains(status)) {
        if (cmd.terminal() && !linesOnStdout) cmd.err().print("\r\033[K");
        cmd.err().flush();
        return s;
      }
      if (linesOnStdout) {
        if (!line.equals(last)) cmd.out().println(id + "  " + line);
        cmd.out().flush();
      } else if (cmd.terminal()) {
        cmd.err().print("\r" + spin[n % 4] + " " + id + " " + line + "\033[K");
        cmd.err().flush();
      } else if (!line.equals(last)) {
        cmd.err().println("conveyor: " + id + " " + line);
      }
      last = line;
      if (CLOCK.nanos() > deadline) {
        if (cmd.terminal() && !linesOnStdout) cmd.err().println();
        throw new CliException(Cli.UNKNOWN, "invocation " + id + " is still " + status + " after " + Cli.human(timeout)
            + "; it goes on: follow it with 'conveyor status " + id + " --watch'");
      }
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CliException(Cli.FAILED, "interrupted");
      }
      pause = Math.min(1000, pause * 3 / 2);
    }
  }

  /** One line on stderr about a terminal status that is not success. */
  static String outcome(JsonNode s) {
    String id = s.path("id").asText();
    String status = s.path("status").asText();
    StringBuilder b = new StringBuilder("invocation ").append(id).append(' ').append(status);
    if (s.path("attempts").asInt() > 0) b.append(" after ").append(s.path("attempts").asInt()).append(" attempt(s)");
    if (s.hasNonNull("httpStatus")) b.append(", last HTTP ").append(s.get("httpStatus").asInt());
    if (s.hasNonNull("lastError")) b.append(": ").append(Cli.oneLine(s.get("lastError").asText()));
    if ("failed".equals(status)) b.append("; it is dead-lettered: 'conveyor dlq redrive ").append(id).append("' runs it again");
    return b.toString();
  }

  @Command(name = "invoke", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Invoke a function: async by default (prints the id), --wait follows it to the end and prints the result,",
          "--sync calls it through the gateway and prints its answer. The payload: --data, --data-file, or '-' for stdin."})
  static final class Invoke extends Base {
    @Parameters(index = "0", paramLabel = "NS/FN", description = "namespace/function (function may be name@tag)")
    String target;

    @Parameters(index = "1", arity = "0..1", paramLabel = "STDIN", description = "'-': read the payload from stdin")
    String dash;

    @Option(names = {"-d", "--data"}, paramLabel = "STR", description = "the payload")
    String data;

    @Option(names = "--data-file", paramLabel = "FILE", description = "the payload, from a file")
    Path dataFile;

    @Option(names = "--sync", description = "wait for the function's answer in the call itself")
    boolean sync;

    @Option(names = "--wait", description = "follow the async invocation until it ends, then print its result")
    boolean await;

    @Option(names = "--timeout", paramLabel = "D", defaultValue = "10m", description = "how long --wait or --sync waits (default ${DEFAULT-VALUE})")
    Duration timeout;

    @Option(names = "--idempotency-key", paramLabel = "K", description = "the same key within the window is the same invocation")
    String idempotencyKey;

    @Option(names = "--callback-url", paramLabel = "U", description = "POST the result here when it ends (an allowed prefix of the tenant)")
    String callbackUrl;

    @Option(names = "--content-type", paramLabel = "T", defaultValue = "application/json", description = "the payload's type (default ${DEFAULT-VALUE})")
    String contentType;

    @Override
    public Integer call() throws IOException {
      String[] nsFn = target.split("/", -1);
      if (nsFn.length != 2 || nsFn[0].isEmpty() || nsFn[1].isEmpty()) {
        throw usage("expected NS/FN such as demo/echo, got '" + target + "'");
      }
      if (dash != null && !dash.equals("-")) throw usage("unexpected argument '" + dash + "' (only '-', stdin, may follow NS/FN)");
      int sources = (data != null ? 1 : 0) + (dataFile != null ? 1 : 0) + (dash != null ? 1 : 0);
      if (sources > 1) throw usage("give one payload: --data, --data-file or '-'");
      if (sync && await) throw usage("--sync and --wait exclude each other: --sync already waits");
      if (sync && callbackUrl != null) throw usage("--callback-url is for async invocations, not --sync");
      byte[] body;
      if (data != null) {
        body = data.getBytes(StandardCharsets.UTF_8);
      } else if (dataFile != null) {
        try {
          body = Files.readAllBytes(dataFile);
        } catch (IOException e) {
          throw usage("cannot read --data-file " + dataFile + ": " + (e instanceof NoSuchFileException ? "no such file" : e.getMessage()));
        }
      } else if (dash != null) {
        body = Cli.root(spec).in.readAllBytes();
      } else {
        body = new byte[0];
      }
      Client c = conn.client();
      Map<String, String> headers = new LinkedHashMap<>();
      headers.put("content-type", contentType);
      headers.put("idempotency-key", idempotencyKey);
      headers.put("x-callback-url", callbackUrl);
      String fn = "/v1/namespaces/" + path(nsFn[0]) + "/functions/" + path(nsFn[1]);
      if (sync) return sync(c, fn, body, headers);
      Client.Response r = c.post(fn + "/invocations", body, headers, Client.DEFAULT_TIMEOUT);
      if (r.status() == 503 && "store_outcome_unknown".equals(r.json().path("error").asText())) {
        String id = r.json().path("id").asText("?");
        throw new CliException(Cli.UNKNOWN, "the gateway could not confirm that invocation " + id + " was stored (store_outcome_unknown). "
            + (idempotencyKey != null
                ? "Send it again with the same --idempotency-key: it runs once whatever the first write did"
                : "Run 'conveyor status " + id + "': found means it will run (do not send it again); "
                    + "404 invocation_not_stored means it never will: send it again"));
      }
      if (r.status() != 202) throw Client.apiError(r);
      JsonNode accepted = r.json();
      String id = accepted.path("id").asText();
      if (!await) {
        if (!structured(accepted)) {
          out().println(id);
          out().flush();
        }
        return Cli.OK;
      }
      if ("true".equalsIgnoreCase(r.header("idempotent-replayed"))) err().println("conveyor: " + id + " replayed: this key's invocation was already accepted");
      JsonNode s = follow(this, c, id, timeout, false);
      String status = s.path("status").asText();
      if (structured(s)) {
        if (!"succeeded".equals(status)) err().println("conveyor: " + outcome(s));
        return exitCode(status);
      }
      Client.Response result = c.get("/v1/invocations/" + path(id) + "/result");
      if (result.status() == 200) {
        out().write(new String(result.body(), StandardCharsets.UTF_8));
        out().flush();
      }
      if (!"succeeded".equals(status)) err().println("conveyor: " + outcome(s));
      return exitCode(status);
    }

    private int sync(Client c, String fn, byte[] body, Map<String, String> headers) {
      Client.Response r = c.post(fn, body, headers, timeout.plusSeconds(5));
      String id = r.header("x-conveyor-invocation-id");
      if (id == null) throw Client.apiError(r); // the gateway's own refusal, not the function's answer
      if (!structured(Client.JSON.createObjectNode().put("id", id).put("httpStatus", r.status())
          .put("attempts", r.header("x-conveyor-attempts")).put("body", r.text()))) {
        out().write(r.text());
        out().flush();
      }
      if (r.ok()) return Cli.OK;
      err().println("conveyor: the function answered HTTP " + r.status() + " (invocation " + id + ", attempts " + r.header("x-conveyor-attempts") + ")");
      return Cli.FAILED;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "An invocation's status and attempts; --watch follows it until it ends (exit code as invoke --wait).")
  static final class Status extends Base {
    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Option(names = {"-w", "--watch"}, description = "print each change until the invocation ends")
    boolean watch;

    @Option(names = "--timeout", paramLabel = "D", defaultValue = "10m", description = "how long --watch follows (default ${DEFAULT-VALUE})")
    Duration timeout;

    @Override
    public Integer call() {
      Client c = conn.client();
      JsonNode s;
      if (watch) {
        s = follow(this, c, id, timeout, conn.output == Format.table);
      } else {
        Client.Response r = c.get("/v1/invocations/" + path(id));
        if (!r.ok()) throw Client.apiError(r);
        s = r.json();
      }
      if (!structured(s)) print(out(), s);
      return watch ? exitCode(s.path("status").asText()) : Cli.OK;
    }

    static void print(PrintWriter out, JsonNode s) {
      List<List<String>> rows = new ArrayList<>();
      for (String f : List.of("id", "namespace", "function", "status", "attempts", "trigger", "mode", "acceptedAt", "startedAt",
          "finishedAt", "queueWaitMs", "durationMs", "httpStatus", "coldStart", "lastError", "traceId")) {
        rows.add(List.of(f + ":", text(s, f)));
      }
      for (List<String> r : rows) out.println(String.format("%-12s %s", r.get(0), r.get(1)));
      JsonNode h = s.path("history");
      if (h.isArray() && h.size() > 0) {
        out.println();
        List<List<String>> hist = new ArrayList<>();
        for (JsonNode a : h) {
          hist.add(List.of(text(a, "attempt"), text(a, "startedAt"), text(a, "durationMs"), text(a, "httpStatus"),
              text(a, "coldStart"), Cli.oneLine(text(a, "error"))));
        }
        table(out, List.of("ATTEMPT", "STARTED", "MS", "HTTP", "COLD", "ERROR"), hist);
      }
      out.flush();
    }
  }

  @Command(name = "result", mixinStandardHelpOptions = true,
      description = "A finished invocation's result: the function's body as it answered (exit 5 while it has not finished).")
  static final class Result extends Base {
    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Override
    public Integer call() {
      Client c = conn.client();
      Client.Response r = c.get("/v1/invocations/" + path(id) + "/result");
      if (r.status() == 202) {
        throw new CliException(Cli.UNKNOWN, "invocation " + id + " has not finished (" + r.json().path("status").asText("?")
            + "): 'conveyor status " + id + " --watch' follows it");
      }
      if (r.status() != 200) throw Client.apiError(r);
      if (!structured(Client.JSON.createObjectNode().put("id", id).put("contentType", r.header("content-type"))
          .put("functionStatus", r.header("x-function-status")).put("body", r.text()))) {
        out().write(r.text());
        out().flush();
      }
      return Cli.OK;
    }
  }

  @Command(name = "cancel", mixinStandardHelpOptions = true,
      description = "Cancel a queued, retrying or running invocation (a running attempt finishes; no further one starts).")
  static final class Cancel extends Base {
    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Override
    public Integer call() {
      Client c = conn.client();
      Client.Response r = c.delete("/v1/invocations/" + path(id));
      if (r.status() == 409) {
        throw new CliException(Cli.REFUSED, "invocation " + id + " already ended (" + r.json().path("status").asText("?") + "): nothing to cancel");
      }
      if (!r.ok()) throw Client.apiError(r);
      if (!structured(r.json())) {
        out().println(id + " " + r.json().path("status").asText("cancelled"));
        out().flush();
      }
      return Cli.OK;
    }
  }

  @Command(name = "dlq", mixinStandardHelpOptions = true, description = "Dead letters (role admin): list, show, redrive.",
      subcommands = {DlqList.class, DlqShow.class, DlqRedrive.class})
  static final class Dlq implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      throw new ParameterException(spec.commandLine(), "a subcommand is needed: list, show or redrive");
    }
  }

  static ArrayNode deadLetters(Client c, int limit) {
    Client.Response r = c.get("/v1/deadletters?limit=" + limit);
    if (!r.ok()) throw Client.apiError(r);
    JsonNode d = r.json().path("deadletters");
    return d.isArray() ? (ArrayNode) d : Client.JSON.createArrayNode();
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "The tenant's dead letters, newest first.")
  static final class DlqList extends Base {
    @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "at most N (1-1000, default ${DEFAULT-VALUE})")
    int limit;

    @Option(names = "--function", paramLabel = "FN", description = "only this function's (name or ns/name)")
    String function;

    @Override
    public Integer call() {
      if (limit < 1 || limit > 1000) throw usage("--limit must be from 1 to 1000, got " + limit);
      ArrayNode all = deadLetters(conn.client(), limit);
      ArrayNode items = Client.JSON.createArrayNode();
      for (JsonNode d : all) if (matches(d, function)) items.add(d);
      if (structured(items)) return Cli.OK;
      if (items.isEmpty()) {
        err().println("conveyor: no dead letters" + (function == null ? "" : " of " + function));
        return Cli.OK;
      }
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode d : items) {
        rows.add(List.of(text(d, "id"), text(d, "namespace") + "/" + text(d, "function"), text(d, "attempts"), text(d, "httpStatus"),
            text(d, "deadLetteredAt"), Cli.oneLine(text(d, "lastError"))));
      }
      table(out(), List.of("ID", "FUNCTION", "ATTEMPTS", "HTTP", "DEAD-LETTERED", "LAST ERROR"), rows);
      return Cli.OK;
    }
  }

  static boolean matches(JsonNode d, String function) {
    if (function == null) return true;
    return function.contains("/") ? function.equals(text(d, "namespace") + "/" + text(d, "function")) : function.equals(text(d, "function"));
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "One dead letter and its invocation's status.")
  static final class DlqShow extends Base {
    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Override
    public Integer call() {
      Client c = conn.client();
      JsonNode found = null;
      for (JsonNode d : deadLetters(c, 1000)) if (id.equals(d.path("id").asText())) found = d;
      if (found == null) {
        throw new CliException(Cli.REFUSED, "no dead letter " + id + " among your tenant's newest 1000 (deadletter_not_found): "
            + "'conveyor dlq list' shows them");
      }
      Client.Response r = c.get("/v1/invocations/" + path(id));
      ObjectNode both = Client.JSON.createObjectNode();
      both.set("deadletter", found);
      if (r.ok()) both.set("status", r.json());
      if (structured(both)) return Cli.OK;
      out().println(String.format("%-12s %s", "dead since:", text(found, "deadLetteredAt")));
      if (r.ok()) {
        Status.print(out(), r.json());
      } else {
        for (String f : List.of("id", "namespace", "function", "attempts", "httpStatus", "lastError")) {
          out().println(String.format("%-12s %s", f + ":", text(found, f)));
        }
      }
      out().flush();
      return Cli.OK;
    }
  }

  @Command(name = "redrive", mixinStandardHelpOptions = true,
      description = {"Queue dead letters again, each as a new invocation (the dead one keeps its failed status):",
          "the ids given, or --all --function FN (each dead letter of it listed now; running it twice redrives twice)."})
  static final class DlqRedrive extends Base {
    @Parameters(arity = "0..*", paramLabel = "ID")
    List<String> ids = new ArrayList<>();

    @Option(names = "--all", description = "every dead letter of --function")
    boolean all;

    @Option(names = "--function", paramLabel = "FN", description = "with --all: the function (name or ns/name)")
    String function;

    @Override
    public Integer call() {
      if (all == !ids.isEmpty()) throw usage("give dead letter ids, or --all --function FN");
      if (all && function == null) throw usage("--all needs --function FN (one function's dead letters at a time)");
      if (!all && function != null) throw usage("--function goes with --all");
      Client c = conn.client();
      List<String> todo = new ArrayList<>(ids);
      if (all) {
        for (JsonNode d : deadLetters(c, 1000)) if (matches(d, function)) todo.add(d.path("id").asText());
        if (todo.isEmpty()) {
          err().println("conveyor: no dead letters of " + function);
          return Cli.OK;
        }
      }
      ArrayNode results = Client.JSON.createArrayNode();
      List<String> failures = new ArrayList<>();
      int done = 0;
      boolean bar = todo.size() > 1;
      for (String id : todo) {
        if (bar) progress(done, todo.size());
        ObjectNode one = results.addObject().put("redriveOf", id);
        try {
          Client.Response r = c.post("/v1/deadletters/" + path(id) + ":redrive", new byte[0], Map.of(), Client.DEFAULT_TIMEOUT);
          if (r.status() == 202) {
            one.put("id", r.json().path("id").asText());
          } else if (r.status() == 503 && "store_outcome_unknown".equals(r.json().path("error").asText())) {
            String again = r.json().path("id").asText("?");
            one.put("id", again).put("error", "store_outcome_unknown");
            failures.add(id + ": not confirmed stored as " + again + " ('conveyor status " + again + "' tells; 404 means redrive again)");
          } else {
            String m = Client.apiError(r).getMessage();
            one.put("error", m);
            failures.add(id + ": " + m);
          }
        } catch (CliException e) {
          if (e.exitCode == Cli.UNREACHABLE) {
            if (bar) err().println();
            throw new CliException(Cli.UNREACHABLE, e.getMessage() + " (redrove " + done + " of " + todo.size() + " before)");
          }
          throw e;
        }
        done++;
      }
      if (bar) {
        progress(done, todo.size());
        if (terminal()) err().println();
      }
      if (!structured(results)) {
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode r : results) rows.add(List.of(text(r, "redriveOf"), text(r, "id"), r.has("error") ? "error" : "queued"));
        table(out(), List.of("DEAD LETTER", "NEW INVOCATION", "RESULT"), rows);
      }
      int ok = todo.size() - failures.size();
      err().println("conveyor: redrove " + ok + " of " + todo.size() + (failures.isEmpty() ? "" : "; " + failures.size() + " not: " + String.join("; ", failures)));
      err().flush();
      return failures.isEmpty() ? Cli.OK : Cli.REFUSED;
    }

    private void progress(int done, int total) {
      if (!terminal()) return;
      int width = 30;
      int filled = total == 0 ? width : done * width / total;
      err().print("\rredriving [" + "=".repeat(filled) + " ".repeat(width - filled) + "] " + done + "/" + total);
      err().flush();
    }
  }

  @Command(name = "usage", mixinStandardHelpOptions = true, subcommands = Cli.Export.class,
      description = {"The tenant's usage per hour or per function and the total (role usage), from the gateway's rollups.",
          "'usage export' reads the raw records from Kafka instead (see 'usage export --help')."})
  static final class Usage extends Base {
    @Option(names = "--from", paramLabel = "INSTANT", description = "start (RFC 3339; default: 24 hours before --to)")
    Instant from;

    @Option(names = "--to", paramLabel = "INSTANT", description = "end (default: now)")
    Instant to;

    enum GroupBy { hour, function }

    @Option(names = "--group-by", paramLabel = "hour|function", defaultValue = "hour", description = "hour (default) or function")
    GroupBy groupBy;

    @Override
    public Integer call() {
      if (from != null && to != null && !from.isBefore(to)) throw usage("--from must be before --to");
      StringBuilder q = new StringBuilder("/v1/usage?groupBy=").append(groupBy);
      if (from != null) q.append("&from=").append(path(from.toString()));
      if (to != null) q.append("&to=").append(path(to.toString()));
      Client.Response r = conn.client().get(q.toString());
      if (!r.ok()) throw Client.apiError(r);
      JsonNode u = r.json();
      if (structured(u)) return Cli.OK;
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode row : u.path("rows")) rows.add(row(groupBy == GroupBy.hour ? text(row, "hour") : text(row, "namespace") + "/" + text(row, "function"), row));
      rows.add(row("TOTAL", u.path("total")));
      out().println("tenant " + text(u, "tenant") + ", " + text(u, "from") + " to " + text(u, "to"));
      table(out(), List.of(groupBy == GroupBy.hour ? "HOUR" : "FUNCTION", "INVOCATIONS", "ATTEMPTS", "SUCCESS", "ERROR", "TIMEOUT",
          "BILLED-MS", "GIB-S", "COLD", "REQ-BYTES", "RESP-BYTES"), rows);
      budgets(u.path("budgets"));
      return Cli.OK;
    }

    /** The tenant's budgets, each with a bar of what its period has used. */
    private void budgets(JsonNode budgets) {
      if (!budgets.isArray() || budgets.isEmpty()) return;
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode b : budgets) {
        double ratio = b.path("usedRatio").asDouble();
        int filled = (int) Math.round(Math.min(1, ratio) * 20);
        String bar = "[" + "#".repeat(filled) + "-".repeat(20 - filled) + "] " + Math.round(ratio * 100) + "%";
        JsonNode limit = b.path("limit");
        JsonNode used = b.path("used");
        JsonNode left = b.path("left");
        String state = b.path("refusing").asBoolean() ? "SPENT: refusing until " + text(b, "periodEnd")
            : b.path("exhausted").asBoolean() ? "spent (alerts only)" : "ok";
        rows.add(List.of(text(b, "period") + " from " + text(b, "periodStart"),
            limit.has("gibSeconds") ? text(used, "gibSeconds") + " / " + text(limit, "gibSeconds") + " (left " + text(left, "gibSeconds") + ")" : "-",
            limit.has("invocations") ? text(used, "invocations") + " / " + text(limit, "invocations") + " (left " + text(left, "invocations") + ")" : "-",
            bar, state));
      }
      out().println();
      table(out(), List.of("BUDGET", "GIB-S USED / LIMIT", "INVOCATIONS USED / LIMIT", "USED", "STATE"), rows);
    }

    private static List<String> row(String label, JsonNode t) {
      JsonNode o = t.path("outcomes");
      return List.of(label, text(t, "invocations"), text(t, "attempts"), text(o, "success"), text(o, "error"), text(o, "timeout"),
          text(t, "billedDurationMs"), text(t, "gibSeconds"), text(t, "coldStarts"), text(t, "requestBytes"), text(t, "responseBytes"));
    }
  }
}
