package dev.conveyor.engine.testing;

import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;

/**
 * A real three-node KRaft cluster, each node its own JVM ({@code kafka.Kafka}) acting as broker and
 * controller, formatted with one cluster id; replication factor 3 and {@code min.insync.replicas} 2
 * by default, as a production cluster runs. A node can be killed with SIGKILL under load.
 */
public final class KafkaCluster implements AutoCloseable {
  private final Path dir;
  private final int[] ports = Ports.free(6);
  private final List<Process> nodes = new ArrayList<>();

  public KafkaCluster(Path dir) {
    this.dir = dir;
  }

  private int port(int node) {
    return ports[(node - 1) * 2];
  }

  private int controllerPort(int node) {
    return ports[(node - 1) * 2 + 1];
  }

  public String bootstrap() {
    return List.of(1, 2, 3).stream().map(n -> "127.0.0.1:" + port(n)).collect(Collectors.joining(","));
  }

  /** The embedded broker's settings, as a node of three: three voters, everything replicated three times. */
  private Properties properties(int node, Path logDir) {
    Properties p = dev.conveyor.engine.kafka.EmbeddedKafka.brokerProperties(logDir, port(node), controllerPort(node));
    p.put("node.id", Integer.toString(node));
    p.put("controller.quorum.voters", List.of(1, 2, 3).stream().map(n -> n + "@127.0.0.1:" + controllerPort(n))
        .collect(Collectors.joining(",")));
    p.put("num.partitions", "3");
    p.put("default.replication.factor", "3");
    p.put("min.insync.replicas", "2");
    p.put("offsets.topic.replication.factor", "3");
    p.put("offsets.topic.num.partitions", "3");
    p.put("transaction.state.log.replication.factor", "3");
    p.put("transaction.state.log.min.isr", "2");
    p.put("transaction.state.log.num.partitions", "3");
    p.put("share.coordinator.state.topic.replication.factor", "3");
    p.put("share.coordinator.state.topic.min.isr", "2");
    return p;
  }

  public KafkaCluster start() {
    String clusterId = Uuid.randomUuid().toString();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    try {
      for (int node = 1; node <= 3; node++) {
        Path logDir = dir.resolve("node" + node);
        Files.createDirectories(logDir);
        Properties props = properties(node, logDir);
        Path file = dir.resolve("server" + node + ".properties");
        try (OutputStream out = Files.newOutputStream(file)) {
          props.store(out, "test cluster node " + node);
        }
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int rc = kafka.tools.StorageTool.execute(new String[] {"format", "-t", clusterId, "-c", file.toString()},
            new PrintStream(log, true, StandardCharsets.UTF_8));
        if (rc != 0) throw new IllegalStateException("formatting node " + node + " failed: " + log);
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx384m", "-XX:TieredStopAtLevel=1",
            "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"), "-cp", System.getProperty("java.class.path"),
            "kafka.Kafka", file.toString());
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("node" + node + ".log").toFile()));
        nodes.add(pb.start());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).until(this::serving);
    return this;
  }

  /** All three nodes listen and the cluster's metadata names all three brokers. */
  private boolean serving() {
    for (int node = 1; node <= 3; node++) {
      if (!nodes.get(node - 1).isAlive()) throw new IllegalStateException("node " + node + " exited; see " + dir);
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port(node)), 200);
      } catch (IOException e) {
        return false;
      }
    }
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap()))) {
      return admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size() == 3;
    } catch (Exception e) {
      return false;
    }
  }

  /** The node that leads {@code partition} of {@code topic} now. */
  public int leader(String topic, int partition) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap()))) {
      return admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic).partitions().get(partition)
          .leader().id();
    }
  }

  /** SIGKILL of one node (1-3). */
  public void kill(int node) throws InterruptedException {
    Process p = nodes.get(node - 1);
    p.destroyForcibly();
    p.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    for (Process p : nodes) {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }
}
