package dev.conveyor.engine;

import dev.conveyor.config.ConfigException;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.cli.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * {@code bin/conveyor}'s entry: the command line ({@link Cli}) and what {@code up} needs: the gateway's
 * config from the environment ({@code CONVEYOR_CONFIG} and the variables config/README.md lists), started
 * until SIGTERM or Ctrl-C. The client commands never touch this class's logger, so they start without
 * Log4j, Vert.x or Kafka.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(Cli.main(args));
  }

  public static ConveyorConfig config(Map<String, String> env) {
    Path file = Path.of(env.getOrDefault("CONVEYOR_CONFIG", "config/conveyor.yaml"));
    if (!Files.isRegularFile(file)) {
      throw new ConfigException("CONVEYOR_CONFIG", "no config file at " + file.toAbsolutePath());
    }
    return ConfigLoader.load(file, env);
  }

  /** The Kafka a command line tool reads: the configured one, else the embedded broker of a running gateway. */
  public static String bootstrap(Map<String, String> env) {
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

  /** Runs the gateway until SIGTERM or Ctrl-C, then exits the JVM (0 after draining, 1 when it could not start). */
  public static void up(Map<String, String> env) {
    Logger log = LoggerFactory.getLogger(Main.class);
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
    log.info("stopping: draining in-flight work");
    conveyor.stopGracefully();
    log.info("stopped");
    System.exit(0);
  }
}
