package dev.conveyor.engine.cli;

import dev.conveyor.config.ConfigException;
import dev.conveyor.engine.Main;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.demo.Demo;
import dev.conveyor.engine.metering.UsageExport;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code bin/conveyor}: the gateway ({@code up}), the tour ({@code demo}), the usage export read from
 * Kafka ({@code usage export}), and a client of a running gateway's HTTP API ({@code invoke},
 * {@code status}, {@code result}, {@code cancel}, {@code dlq}, {@code usage}). The client commands load
 * neither Vert.x nor Kafka: they are the JDK's HttpClient, Jackson and picocli.
 */
@Command(name = "conveyor", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
    description = "Conveyor: the async invocation gateway, and a client of its HTTP API.",
    subcommands = {Cli.Up.class, Cli.DemoCommand.class, ClientCommands.Invoke.class, ClientCommands.Status.class,
        ClientCommands.Result.class, ClientCommands.Cancel.class, ClientCommands.Dlq.class, ClientCommands.Usage.class,
        Cli.Completion.class, CommandLine.HelpCommand.class},
    footerHeading = "%nExit codes:%n",
    footer = {"  0  done; an invocation waited for succeeded",
        "  1  the invocation failed, expired or was cancelled (or a sync call's function answered an error)",
        "  2  bad command line or connection settings (unknown flag, bad value, no token, unknown context)",
        "  3  the gateway refused the request (not found, forbidden, unauthenticated, conflict, unavailable)",
        "  4  the gateway could not be reached",
        "  5  the outcome is not known yet (store_outcome_unknown, or --wait/--watch gave up at --timeout)",
        "",
        "Connection: --url, --token, --context; else CONVEYOR_URL, CONVEYOR_TOKEN, CONVEYOR_CONTEXT; else the current",
        "context of ~/.config/conveyor/config.yaml (or CONVEYOR_CONFIG_FILE); the URL defaults to http://localhost:8080."})
public final class Cli implements Runnable {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int REFUSED = 3;
  public static final int UNREACHABLE = 4;
  public static final int UNKNOWN = 5;

  final Map<String, String> env;
  final InputStream in;
  final boolean terminal;
  @Spec CommandSpec spec;

  Cli(Map<String, String> env, InputStream in, boolean terminal) {
    this.env = env;
    this.in = in;
    this.terminal = terminal;
  }

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "a command is needed: up, demo, invoke, status, result, cancel, dlq, usage, completion");
  }

  /** {@code bin/conveyor}'s entry: the real streams and environment. */
  public static int main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true);
    PrintWriter err = new PrintWriter(System.err, true);
    return run(args, System.getenv(), System.in, out, err, System.console() != null);
  }

  /** Runs one command line; what it prints goes to {@code out} and {@code err}. @return the exit code */
  public static int run(String[] args, Map<String, String> env, InputStream in, PrintWriter out, PrintWriter err, boolean terminal) {
    if (args.length == 0) args = new String[] {"up"};
    CommandLine cl = commandLine(env, in, terminal);
    cl.setOut(out).setErr(err);
    try {
      return cl.execute(args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  static CommandLine commandLine(Map<String, String> env, InputStream in, boolean terminal) {
    CommandLine cl = new CommandLine(new Cli(env, in, terminal));
    String name = env.get("CONVEYOR_CLI_NAME");
    if (name != null && !name.isBlank()) cl.setCommandName(name);
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.registerConverter(Duration.class, Cli::duration);
    cl.registerConverter(Instant.class, Cli::instant);
    cl.setParameterExceptionHandler((ex, a) -> {
      CommandLine c = ex.getCommandLine();
      StringBuilder m = new StringBuilder("conveyor: ").append(oneLine(ex.getMessage()));
      if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
        m.append("; did you mean ").append(String.join(" or ", u.getSuggestions())).append('?');
      }
      m.append(" (see '").append(c.getCommandSpec().qualifiedName()).append(" --help')");
      c.getErr().println(m);
      return USAGE;
    });
    cl.setExecutionExceptionHandler((ex, c, parsed) -> {
      if (ex instanceof CliException e) {
        c.getErr().println("conveyor: " + e.getMessage());
        return e.exitCode;
      }
      if (ex instanceof ConfigException e) {
        c.getErr().println("conveyor: invalid config: " + oneLine(e.getMessage()));
        return USAGE;
      }
      c.getErr().println("conveyor: unexpected " + ex.getClass().getSimpleName() + ": " + oneLine(String.valueOf(ex.getMessage())));
      return FAILED;
    });
    return cl;
  }

  static String oneLine(String s) {
    return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
  }

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

  /** {@code 30s}, {@code 5m}, {@code 1h}, {@code 500ms}, {@code 1m30s} or ISO-8601 ({@code PT30S}). */
  static Duration duration(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT);
    try {
      if (v.startsWith("pt") || v.startsWith("p")) return Duration.parse(s.trim());
      Matcher m = DURATION.matcher(v);
      Duration d = Duration.ZERO;
      int at = 0;
      while (m.find() && m.start() == at) {
        long n = Long.parseLong(m.group(1));
        d = d.plus(switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          default -> Duration.ofHours(n);
        });
        at = m.end();
      }
      if (at == v.length() && at > 0) return d;
    } catch (DateTimeParseException | ArithmeticException e) {
      // below
    }
    throw new CommandLine.TypeConversionException("'" + s + "' is not a duration: use 30s, 5m, 1h30m or PT30S");
  }

  static Instant instant(String s) {
    try {
      return Instant.parse(s.trim());
    } catch (DateTimeParseException e) {
      throw new CommandLine.TypeConversionException("'" + s + "' is not an RFC 3339 instant such as 2026-11-01T00:00:00Z");
    }
  }

  static String human(Duration d) {
    if (d == null) return "the time allowed";
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  static Cli root(CommandSpec spec) {
    return (Cli) spec.root().userObject();
  }

  /** The version of the jar. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Cli.class.getPackage().getImplementationVersion();
      return new String[] {"conveyor " + (v == null ? "0.1.0-SNAPSHOT" : v)};
    }
  }

  @Command(name = "up", mixinStandardHelpOptions = true,
      description = {"Start the gateway: the API on :8080, the admin port on :9090, an embedded Kafka broker when",
          "KAFKA_BOOTSTRAP_SERVERS is unset (config: CONVEYOR_CONFIG, default config/conveyor.yaml). Ctrl-C drains and exits 0."})
  static final class Up implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      Main.up(root(spec).env);
      return OK;
    }
  }

  @Command(name = "demo", mixinStandardHelpOptions = true,
      description = "A self-contained tour: a few thousand async invocations on an embedded broker and gateway, then a summary.")
  static final class DemoCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--count", paramLabel = "N", defaultValue = "3000", description = "invocations to send (1-1000000, default ${DEFAULT-VALUE})")
    int count;

    @Override
    public Integer call() {
      if (count < 1 || count > 1_000_000) {
        throw new ParameterException(spec.commandLine(), "--count must be from 1 to 1000000, got " + count);
      }
      return Demo.run(root(spec).env, count);
    }
  }

  @Command(name = "export", mixinStandardHelpOptions = true,
      description = {"The usage records (and corrections) of a time range, each id once, for a billing system,",
          "read from the usage topic of the Kafka in CONVEYOR_CONFIG (or a running gateway's embedded broker)."})
  static final class Export implements Callable<Integer> {
    enum Format { csv, json }

    @Spec CommandSpec spec;

    @Option(names = "--from", required = true, paramLabel = "INSTANT", description = "start, inclusive (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
    Instant from;

    @Option(names = "--to", required = true, paramLabel = "INSTANT", description = "end, exclusive")
    Instant to;

    @Option(names = "--format", defaultValue = "csv", paramLabel = "csv|json", description = "csv (default) or json")
    Format format;

    @Option(names = "--tenant", paramLabel = "NAME", description = "only this tenant's records (default: every tenant's)")
    String tenant;

    @Option(names = "--out", paramLabel = "FILE", description = "write here instead of stdout; an existing file only with --force")
    Path out;

    @Option(names = "--force", description = "overwrite --out if it exists")
    boolean force;

    @Override
    public Integer call() {
      if (!from.isBefore(to)) throw new ParameterException(spec.commandLine(), "--from must be before --to");
      Map<String, String> env = root(spec).env;
      ConveyorConfig config = Main.config(env);
      if (tenant != null && config.tenants().stream().noneMatch(t -> t.name().equals(tenant))) {
        List<String> names = config.tenants().stream().map(ConveyorConfig.Tenant::name).toList();
        throw new ParameterException(spec.commandLine(), "--tenant '" + tenant + "' is not a tenant of " + configName(env)
            + " (tenants: " + String.join(", ", names) + ")");
      }
      PrintWriter stdout = spec.commandLine().getOut();
      PrintWriter stderr = spec.commandLine().getErr();
      return UsageExport.run(config, Main.bootstrap(env), from, to, format.name(), tenant, out, force, stdout, stderr);
    }

    private static String configName(Map<String, String> env) {
      return env.getOrDefault("CONVEYOR_CONFIG", "config/conveyor.yaml");
    }
  }

  @Command(name = "completion", mixinStandardHelpOptions = true,
      description = {"Print a bash completion script (zsh: after 'autoload -U bashcompinit && bashcompinit').",
          "It completes conveyor, bin/conveyor, kn-conveyor and, sourced after kn's own script, kn conveyor:",
          "  source <(bin/conveyor completion)     # this shell",
          "  bin/conveyor completion > /etc/bash_completion.d/conveyor"})
  static final class Completion implements Callable<Integer> {
    /**
     * kn completes only its own commands. This hands the words after {@code kn conveyor} to
     * Conveyor's completion and every other {@code kn} line to the function kn's script registered
     * (found with {@code complete -p kn} when this script is sourced).
     */
    static final String KN_PLUGIN = """

        # kn-conveyor, the same client linked as a kn plugin
        complete -F _complete_conveyor -o default kn-conveyor
        # `kn conveyor ...`: source this after kn's own completion script (`source <(kn completion bash)`)
        if [ -z "${_conveyor_kn_previous+x}" ]; then
          _conveyor_kn_previous=$(complete -p kn 2>/dev/null | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')
        fi
        function _conveyor_kn() {
          if [ "${COMP_WORDS[1]}" = conveyor ] && [ "$COMP_CWORD" -ge 2 ]; then
            local COMP_WORDS=("conveyor" "${COMP_WORDS[@]:2}")
            local COMP_CWORD=$((COMP_CWORD - 1))
            local COMP_LINE="conveyor${COMP_LINE#*conveyor}"
            _complete_conveyor
            return $?
          fi
          if [ -n "$_conveyor_kn_previous" ] && [ "$_conveyor_kn_previous" != _conveyor_kn ]; then
            "$_conveyor_kn_previous" "$@"
          fi
        }
        complete -F _conveyor_kn -o default kn
        """;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      // One script for every name the client runs under: the functions are named after "conveyor"
      // whatever name this process was started as (kn-conveyor sets "kn conveyor").
      CommandLine root = spec.root().commandLine();
      String started = root.getCommandName();
      root.setCommandName("conveyor");
      try {
        spec.commandLine().getOut().print(AutoComplete.bash("conveyor", root) + KN_PLUGIN);
      } finally {
        root.setCommandName(started);
      }
      spec.commandLine().getOut().flush();
      return OK;
    }
  }
}
