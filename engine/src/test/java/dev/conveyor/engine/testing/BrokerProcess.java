package dev.conveyor.engine.testing;

import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A real KRaft broker in its own JVM ({@code kafka.Kafka server.properties}), so a test can stop
 * and restart it under a running gateway. Same ports and data across restarts.
 */
public final class BrokerProcess implements AutoCloseable {
  private final Path dir;
  private final int[] ports = Ports.free(2);
  private final int port = ports[0];
  private final int controllerPort = ports[1];
  private Process process;

  public BrokerProcess(Path dir) {
    this.dir = dir;
  }

  public String bootstrap() {
    return "127.0.0.1:" + port;
  }

  public BrokerProcess start() {
    try {
      Properties props = EmbeddedKafka.brokerProperties(dir.resolve("log"), port, controllerPort);
      EmbeddedKafka.formatIfNeeded(dir.resolve("log"), props);
      Path file = dir.resolve("server.properties");
      try (OutputStream out = Files.newOutputStream(file)) {
        props.store(out, "test broker");
      }
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      ProcessBuilder pb = new ProcessBuilder(java, "-Xmx512m", "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
          "-cp", System.getProperty("java.class.path"), "kafka.Kafka", file.toString());
      pb.redirectErrorStream(true);
      pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("broker.log").toFile()));
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(this::listening);
    return this;
  }

  private boolean listening() {
    if (!process.isAlive()) throw new IllegalStateException("broker exited; see " + dir.resolve("broker.log"));
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Freezes the broker (SIGSTOP): its sockets stay open and what clients sent stays in them, to be
   * handled (appended, for a produce request) when it is thawed, after the clients gave up.
   */
  public void freeze() {
    signal("STOP");
  }

  /** Resumes a frozen broker (SIGCONT). */
  public void thaw() {
    signal("CONT");
  }

  private void signal(String name) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) throw new IllegalStateException("kill -" + name + " failed");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    if (process != null && process.isAlive()) kill();
  }
}
