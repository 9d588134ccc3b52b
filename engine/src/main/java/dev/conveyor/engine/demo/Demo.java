package dev.conveyor.engine.demo;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.kafka.EmbeddedKafka;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.HdrHistogram.Histogram;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code bin/conveyor demo}: starts everything embedded on free ports in a scratch directory, sends
 * a few thousand async invocations through the real HTTP API with a progress bar, waits for all of
 * them to end, and prints what happened, usage included (read back from {@code conveyor.usage}).
 */
public final class Demo {
  private static final String KEY = "demo-key";

  private Demo() {}

  /** @param count the invocations to send (the command line checked it) */
  public static int run(Map<String, String> env, int count) {
    Path dir;
    try {
      dir = Files.createTempDirectory("conveyor-demo");
    } catch (IOException e) {
      System.err.println("demo: cannot create a scratch directory: " + e.getMessage());
      return 1;
    }
    int[] ports = EmbeddedKafka.freePorts(2);
    int samplesPort = ports[0];
    ConveyorConfig config = ConfigLoader.parse(yaml(samplesPort), Map.of());
    Path log = dir.resolveSibling(dir.getFileName() + ".log");
    logTo(log);
    System.err.println("demo: starting an embedded broker and the gateway (their log: " + log + ") ...");
    try (Conveyor conveyor = Conveyor.start(config, new Conveyor.Runtime(dir, ports[1]))) {
      return tour(conveyor, count);
    } catch (Exception e) {
      System.err.println("demo: failed: " + e.getMessage());
      return 1;
    } finally {
      deleteQuietly(dir);
    }
  }

  /**
   * The gateway's and the libraries' log lines go to {@code file}, not the terminal: the tour's output
   * is its progress bars and its table. (The broker and Kafka Streams log warnings while they start.)
   */
  static void logTo(Path file) {
    var b = ConfigurationBuilderFactory.newConfigurationBuilder();
    b.setStatusLevel(Level.ERROR);
    b.add(b.newAppender("file", "File").addAttribute("fileName", file.toString())
        .add(b.newLayout("PatternLayout").addAttribute("pattern", "%d{ISO8601} %-5level %logger{1.} %msg%n")));
    b.add(b.newRootLogger(Level.INFO).add(b.newAppenderRef("file")));
    b.add(b.newLogger("org.apache.kafka", Level.WARN));
    b.add(b.newLogger("kafka", Level.WARN));
    b.add(b.newLogger("state.change.logger", Level.WARN));
    Configurator.reconfigure(b.build());
  }

  static String yaml(int samplesPort) {
    String url = "http://127.0.0.1:" + samplesPort;
    String delivery = "{ retry: 2, backoffPolicy: exponential, backoffDelay: PT0.05S, backoffMax: PT1S, timeout: PT10S }";
    return """
        server: { port: 0, adminPort: 0 }
        tenants:
          - name: demo
            namespaces: [demo]
            apiKeys: [ { sha256: "%s", roles: [invoke, read, usage, admin] } ]
        functions:
          - { namespace: demo, name: echo, url: "%s/echo", memoryMiB: 128, delivery: %s }
          - { namespace: demo, name: flaky, url: "%s/flaky", memoryMiB: 256, delivery: %s,
              circuitBreaker: { failureRateThreshold: 80, minimumCalls: 50, openFor: PT5S } }
          - { namespace: demo, name: sleep, url: "%s/sleep", memoryMiB: 512, delivery: %s }
        samples: { enabled: true, port: %d }
        dispatch: { maxInFlight: 64 }
        metering: { source: "//conveyor/demo" }
        """.formatted(dev.conveyor.engine.auth.ApiKeyAuthenticator.sha256Hex(KEY), url, delivery, url, delivery, url,
        delivery, samplesPort);
  }

  private static int tour(Conveyor conveyor, int count) throws Exception {
    String base = "http://127.0.0.1:" + conveyor.httpPort();
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    List<String> ids = Collections.synchronizedList(new ArrayList<>());
    ConcurrentLinkedQueue<String> refused = new ConcurrentLinkedQueue<>();
    Semaphore window = new Semaphore(64);
    try (ProgressBar bar = bar("accepting ", count)) {
      List<CompletableFuture<?>> all = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        String target = switch (i % 10) {
          case 0, 1 -> "flaky/invocations?failRate=0.3";
          case 2 -> "sleep/invocations?ms=20";
          default -> "echo/invocations";
        };
        window.acquire();
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/v1/namespaces/demo/functions/" + target))
            .header("authorization", "Bearer " + KEY).header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"n\":" + i + "}")).build();
        all.add(http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).whenComplete((resp, err) -> {
          window.release();
          bar.step();
          if (err == null && resp.statusCode() == 202) ids.add(new JsonObject(resp.body()).getString("id"));
          else refused.add(err != null ? err.toString() : resp.statusCode() + " " + resp.body());
        }));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
    }
    try (ProgressBar bar = bar("delivering", ids.size())) {
      Time clock = Time.clocks();
      long deadline = clock.nanos() + TimeUnit.MINUTES.toNanos(5);
      long done;
      do {
        done = (long) completed(conveyor);
        bar.stepTo(Math.min(done, ids.size()));
        if (done < ids.size()) Thread.sleep(100); // a CLI polling a counter to draw a bar
      } while (done < ids.size() && clock.nanos() < deadline);
    }
    // Read every status back through the API, as a client would.
    Histogram wait = new Histogram(3);
    Histogram duration = new Histogram(3);
    int succeeded = 0, failed = 0, retried = 0, other = 0;
    for (String id : ids) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/invocations/" + id))
          .header("authorization", "Bearer " + KEY).build(), HttpResponse.BodyHandlers.ofString());
      JsonObject s = new JsonObject(r.body());
      switch (s.getString("status")) {
        case "succeeded" -> succeeded++;
        case "failed" -> failed++;
        default -> other++;
      }
      if (s.getInteger("attempts", 0) > 1) retried++;
      if (s.getLong("queueWaitMs") != null) wait.recordValue(s.getLong("queueWaitMs"));
      if (s.getLong("durationMs") != null) duration.recordValue(s.getLong("durationMs"));
    }
    long[] usage = new long[1];
    BigDecimal gibs = usageGibSeconds(conveyor, usage);
    System.out.println();
    System.out.println("| what                      |        value |");
    System.out.println("|---------------------------|-------------:|");
    row("sent", count);
    row("accepted (202)", ids.size());
    row("refused", refused.size());
    row("succeeded", succeeded);
    row("retried (attempts > 1)", retried);
    row("dead-lettered (failed)", failed);
    row("not finished", other);
    row("queue wait p50 / p99 ms", wait.getValueAtPercentile(50) + " / " + wait.getValueAtPercentile(99));
    row("duration p50 / p99 ms", duration.getValueAtPercentile(50) + " / " + duration.getValueAtPercentile(99));
    row("usage records", usage[0]);
    row("usage GiB-s", gibs.toPlainString());
    return other == 0 && refused.isEmpty() ? 0 : 1;
  }

  private static ProgressBar bar(String task, long max) {
    return new ProgressBarBuilder().setTaskName(task).setInitialMax(max).setStyle(ProgressBarStyle.ASCII)
        .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err)).build();
  }

  private static double completed(Conveyor c) {
    return c.metrics().registry().find("conveyor.invocations.completed").counters().stream().mapToDouble(Counter::count).sum();
  }

  private static BigDecimal usageGibSeconds(Conveyor c, long[] records) {
    Map<String, Object> props = Map.of("bootstrap.servers", c.bootstrapServers(),
        "key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer",
        "value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
    BigDecimal total = BigDecimal.ZERO;
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> parts = consumer.partitionsFor(c.topics().usage()).stream()
          .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> end = consumer.endOffsets(parts);
      while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          records[0]++;
          total = total.add(new BigDecimal(new JsonObject(r.value()).getJsonObject("data").getString("gibSeconds")));
        }
      }
    }
    return total;
  }

  private static void row(String what, Object value) {
    System.out.printf("| %-25s | %12s |%n", what, value);
  }

  private static void deleteQuietly(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a scratch directory under tmp; nothing to do
    }
  }
}
