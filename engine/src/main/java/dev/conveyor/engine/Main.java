package dev.conveyor.engine;

import dev.conveyor.engine.config.ConfigException;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.demo.Demo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/** {@code bin/conveyor up|demo}: reads the environment of SPEC §1 and starts the gateway. */
public final class Main {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) {
    String cmd = args.length == 0 ? "up" : args[0];
    Map<String, String> env = System.getenv();
    try {
      switch (cmd) {
        case "up" -> up(env);
        case "demo" -> System.exit(Demo.run(env, args));
        case "usage" -> System.exit(dev.conveyor.engine.metering.UsageExport.run(args, config(env), bootstrap(env)));
        case "help", "--help", "-h" -> {
          System.out.println(USAGE);
          System.exit(0);
        }
        default -> {
          System.err.println("conveyor: unknown command '" + cmd + "'\n" + USAGE);
          System.exit(2);
        }
      }
    } catch (ConfigException e) {
      System.err.println("conveyor: invalid config: " + e.getMessage());
      System.exit(2);
    }
  }

  static final String USAGE = """
      usage: bin/conveyor <command>
        up     start the gateway (embedded Kafka when KAFKA_BOOTSTRAP_SERVERS is unset)
        demo   a self-contained tour: a few thousand async invocations, then a summary
        usage export --from <instant> --to <instant> [--format csv|json] [--tenant t] [--out file]
               the usage records of a time range, each id once, for a billing system
      environment: CONVEYOR_CONFIG, CONVEYOR_HTTP_PORT, CONVEYOR_ADMIN_PORT, CONVEYOR_DATA_DIR,
                   KAFKA_BOOTSTRAP_SERVERS, CONVEYOR_EMBEDDED_KAFKA_PORT (see README.md)""";

  public static ConveyorConfig config(Map<String, String> env) {
    Path file = Path.of(env.getOrDefault("CONVEYOR_CONFIG", "config/conveyor.yaml"));
    if (!Files.isRegularFile(file)) {
      throw new ConfigException("CONVEYOR_CONFIG", "no config file at " + file.toAbsolutePath());
    }
    return ConfigLoader.load(file, env);
  }

  /** The Kafka a command line tool reads: the configured one, else the embedded broker of a running gateway. */
  static String bootstrap(Map<String, String> env) {
    ConveyorConfig c = config(env);
    if (!c.kafka().embedded()) return c.kafka().bootstrapServers();
    return "127.0.0.1:" + env.getOrDefault("CONVEYOR_EMBEDDED_KAFKA_PORT", "9092").trim();
  }

  public static Conveyor.Runtime runtime(Map<String, String> env) {
    Path data = Path.of(env.getOrDefault("CONVEYOR_DATA_DIR", "data"));
    String p = env.getOrDefault("CONVEYOR_EMBEDDED_KAFKA_PORT", "9092");
    int port;
    try {
      port = Integer.parseInt(p.trim());
      if (port < 1 || port > 65535) throw new NumberFormatException();
    } catch (NumberFormatException e) {
      throw new ConfigException("CONVEYOR_EMBEDDED_KAFKA_PORT", "expected a port number, got '" + p + "'");
    }
    // Tenant changes in the config file take effect without a restart.
    return new Conveyor.Runtime(data, port).watching(Path.of(env.getOrDefault("CONVEYOR_CONFIG", "config/conveyor.yaml")), env);
  }

  private static void up(Map<String, String> env) {
    ConveyorConfig config = config(env);
    Conveyor.Runtime runtime = runtime(env);
    Conveyor conveyor;
    try {
      conveyor = Conveyor.start(config, runtime);
    } catch (RuntimeException e) {
      System.err.println("conveyor: could not start: " + e.getMessage());
      System.exit(1);
      return;
    }
    CountDownLatch stop = new CountDownLatch(1);
    // SIGTERM/Ctrl-C drain in-flight work and exit 0 (a JVM shutdown hook would exit 143).
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    try {
      stop.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    LOG.info("stopping: draining in-flight work");
    conveyor.stopGracefully();
    LOG.info("stopped");
    System.exit(0);
  }
}
