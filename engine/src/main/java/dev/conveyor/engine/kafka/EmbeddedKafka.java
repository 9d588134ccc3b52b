package dev.conveyor.engine.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node KRaft broker in this process, for {@code bin/conveyor up} and the tests. Its data
 * stays under {@code dataDir} across restarts (formatted once). Start-up blocks for a few seconds:
 * call it before the event loops serve anything.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private final Path dataDir;
  private final int port;
  private KafkaRaftServer server;

  public EmbeddedKafka(Path dataDir, int port) {
    this.dataDir = dataDir;
    this.port = port;
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public static Properties brokerProperties(Path logDir, int port, int controllerPort) {
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("log.dirs", logDir.toString());
    p.put("num.partitions", "6");
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "6");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "6"); // the usage rollups commit in transactions: 50 partitions is slow to create
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("auto.create.topics.enable", "false");
    return p;
  }

  /** Formats the log directory unless it already holds a cluster (meta.properties). */
  public static void formatIfNeeded(Path logDir, Properties props) {
    if (Files.exists(logDir.resolve("meta.properties"))) return;
    try {
      Files.createDirectories(logDir);
      Path file = Files.createTempFile("conveyor-kraft", ".properties");
      try (var out = Files.newOutputStream(file)) {
        props.store(out, "conveyor embedded broker");
      }
      ByteArrayOutputStream log = new ByteArrayOutputStream();
      // A random base64 id may start with '-', which the tool reads as an option: use Uuid.
      int rc = kafka.tools.StorageTool.execute(
          new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", file.toString()},
          new PrintStream(log, true, StandardCharsets.UTF_8));
      Files.deleteIfExists(file);
      if (rc != 0) {
        throw new IllegalStateException("formatting " + logDir + " failed: " + log.toString(StandardCharsets.UTF_8).trim());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public synchronized EmbeddedKafka start() {
    Path logDir = dataDir.resolve("kafka");
    int controllerPort = freePort();
    while (controllerPort == port) controllerPort = freePort();
    Properties props = brokerProperties(logDir, port, controllerPort);
    // A restart after a crash (SIGKILL, OOM, power loss) waits for the dead incarnation's broker session
    // to expire: the controller, reloading its metadata, gives every unfenced broker a fresh session,
    // and refuses another incarnation of that node id while it is valid (Kafka's
    // ClusterControlManager.registerBroker and BrokerHeartbeatManager.hasValidSession). Here broker and
    // controller are one process, and 4 s instead of Kafka's 9 s takes about 5 s off such a restart.
    // The price: a process stalled 4 s or more (a long GC pause, a starved CPU) comes back fenced
    // until its next heartbeat, a second, and sends get NOT_LEADER and retry meanwhile. Brokers started
    // from brokerProperties alone (the tests' own broker processes) keep Kafka's 9 s.
    props.put("broker.heartbeat.interval.ms", "1000");
    props.put("broker.session.timeout.ms", "4000");
    formatIfNeeded(logDir, props);
    server = new KafkaRaftServer(new KafkaConfig(props), Time.SYSTEM);
    server.startup();
    return this;
  }

  @Override
  public synchronized void close() {
    if (server != null) {
      server.shutdown();
      server.awaitShutdown();
      server = null;
    }
  }

  /** {@code n} distinct free ports: all are held open together, so none is handed out twice. */
  public static int[] freePorts(int n) {
    ServerSocket[] held = new ServerSocket[n];
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        held[i] = new ServerSocket(0);
        ports[i] = held[i].getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket s : held) {
        try {
          if (s != null) s.close();
        } catch (IOException ignored) {
          // closing a probe socket
        }
      }
    }
  }

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
