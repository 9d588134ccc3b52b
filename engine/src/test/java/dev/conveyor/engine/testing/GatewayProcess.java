package dev.conveyor.engine.testing;

import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The gateway as its own OS process ({@code Main up}), as an operator runs it, so a test can kill
 * it with SIGKILL. It uses the test JVM's classpath; its output goes to a log file.
 */
public final class GatewayProcess implements AutoCloseable {
  private final Map<String, String> env;
  private final Path log;
  private final int adminPort;
  private Process process;

  public GatewayProcess(Map<String, String> env, Path log) {
    this.env = env;
    this.log = log;
    this.adminPort = Integer.parseInt(env.get("CONVEYOR_ADMIN_PORT"));
  }

  public GatewayProcess start() {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // The test's temporary directory (under target/): a killed gateway leaves its RocksDB library there.
    // C1 only: these processes live seconds to a minute, and C2's compiling would take CPU from the test.
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx512m", "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
        "-cp", System.getProperty("java.class.path"), "dev.conveyor.engine.Main", "up");
    pb.environment().putAll(env);
    // No warm-up unless a test asks for one: these processes are killed long before it would pay.
    if (!env.containsKey("CONVEYOR_WARMUP")) pb.environment().put("CONVEYOR_WARMUP", "PT0S");
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  /**
   * Waits for {@code /readyz} to answer 200. A gateway that exits, or is not ready in time, fails the
   * test at once with the end of its log, so the reason shows in the test report.
   */
  public GatewayProcess awaitReady(Duration atMost) {
    HttpClient client = HttpClient.newHttpClient();
    try {
      await().atMost(atMost).pollInterval(Duration.ofMillis(100)).ignoreExceptionsMatching(e -> !(e instanceof GatewayExited)).until(() -> {
        if (!process.isAlive()) throw new GatewayExited(process.exitValue());
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/readyz"))
            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode() == 200;
      });
    } catch (GatewayExited e) {
      throw new AssertionError(e.getMessage() + "; the end of " + log + ":\n" + tail(40), e);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new AssertionError("the gateway was not ready within " + atMost + "; the end of " + log + ":\n" + tail(40)
          + "\nits main thread:\n" + mainThread(), e);
    }
    return this;
  }

  private static final class GatewayExited extends RuntimeException {
    GatewayExited(int code) {
      super("the gateway exited with " + code);
    }
  }

  /**
   * Where a gateway that does not get ready is stuck: its threads ({@code jcmd Thread.print}) go to
   * {@code <log>.threads.txt}, and the main thread's stack (the one that starts it) is returned.
   */
  private String mainThread() {
    Path dump = Path.of(log + ".threads.txt");
    try {
      Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
          Long.toString(process.pid()), "Thread.print").redirectErrorStream(true).redirectOutput(dump.toFile()).start();
      if (!jcmd.waitFor(30, TimeUnit.SECONDS)) jcmd.destroyForcibly();
      StringBuilder main = new StringBuilder();
      boolean in = false;
      for (String line : Files.readAllLines(dump)) {
        if (line.startsWith("\"")) in = line.startsWith("\"main\"");
        if (in) main.append(line).append('\n');
      }
      return main + "(all threads in " + dump + ")";
    } catch (IOException e) {
      return "(no thread dump: " + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "(no thread dump: interrupted)";
    }
  }

  /** The named metric families from its {@code /metrics} ({@code name[]=...}), without comments; the error when it does not answer. */
  public String metrics(String... families) {
    StringBuilder query = new StringBuilder();
    for (String f : families) query.append(query.length() == 0 ? "?" : "&").append("name%5B%5D=").append(f);
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics" + query))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body()
          .lines().filter(l -> !l.startsWith("#")).collect(java.util.stream.Collectors.joining("\n"));
    } catch (IOException e) {
      return "(no metrics: " + e + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "(no metrics: interrupted)";
    }
  }

  /** The last {@code lines} lines of the log. */
  public String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }

  /** SIGKILL: no drain, no flush, no goodbye. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM, then the exit code (the gateway drains first). */
  public int terminate() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      return -1;
    }
    return process.exitValue();
  }

  public File logFile() {
    return log.toFile();
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) kill();
  }
}
