package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.observability.Metrics;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/} is what an operator applies: every manifest must load as Kubernetes objects
 * (fabric8, as {@code kubectl} would read them), the config it mounts must pass Conveyor's own
 * validation, and every query of the Grafana dashboard must name a metric Conveyor exports or one
 * of Knative's.
 */
class DeployManifestsTest {
  private static final Path DEPLOY = Path.of("..", "deploy");
  private static final Set<String> KNATIVE_METRICS = Set.of("kn_revision_request_queued", "kn_revision_request_concurrency",
      "kn_revision_pods_count", "activator_request_latencies_bucket");
  /** Label names that look like metric names. */
  private static final Set<String> LABELS = Set.of("kn_service_name", "kn_revision_name");
  private static KubernetesClient client;

  @BeforeAll
  static void client() {
    client = new KubernetesClientBuilder().build(); // only for load(): it never calls a server
  }

  @AfterAll
  static void close() {
    client.close();
  }

  private static List<Path> manifests() throws Exception {
    try (Stream<Path> files = Files.walk(DEPLOY)) {
      return files.filter(p -> p.toString().endsWith(".yaml") && !p.getFileName().toString().equals("kustomization.yaml")
          && !p.getFileName().toString().equals("conveyor.yaml")).sorted().toList();
    }
  }

  @Test
  void everyManifestLoadsAsKubernetesObjects() throws Exception {
    List<Path> files = manifests();
    assertThat(files).hasSizeGreaterThanOrEqualTo(10);
    Set<String> kinds = new HashSet<>();
    for (Path f : files) {
      List<HasMetadata> items;
      try (InputStream in = Files.newInputStream(f)) {
        items = client.load(in).items();
      }
      assertThat(items).as(f.toString()).isNotEmpty();
      for (HasMetadata o : items) {
        assertThat(o.getApiVersion()).as(f + ": apiVersion").isNotBlank();
        assertThat(o.getMetadata().getName()).as(f + ": " + o.getKind() + " name").isNotBlank();
        kinds.add(o.getKind());
      }
    }
    assertThat(kinds).contains("Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
        "PodDisruptionBudget", "Kafka", "KafkaNodePool", "KafkaTopic", "ServiceMonitor", "ConfigMap");
  }

  @Test
  void kustomizationsListFilesThatExist() throws Exception {
    YAMLMapper yaml = new YAMLMapper();
    for (Path k : List.of(DEPLOY.resolve("base/kustomization.yaml"), DEPLOY.resolve("monitoring/kustomization.yaml"))) {
      JsonNode root = yaml.readTree(k.toFile());
      List<String> files = new ArrayList<>();
      root.path("resources").forEach(r -> files.add(r.asText()));
      root.path("configMapGenerator").forEach(g -> g.path("files").forEach(f -> files.add(f.asText())));
      assertThat(files).as(k.toString()).isNotEmpty();
      for (String f : files) assertThat(k.getParent().resolve(f)).as(k + " -> " + f).exists();
    }
  }

  @Test
  void theDeploymentRunsTwoReplicasWithProbesOnTheAdminPort() throws Exception {
    try (InputStream in = Files.newInputStream(DEPLOY.resolve("base/deployment.yaml"))) {
      var d = client.apps().deployments().load(in).item();
      assertThat(d.getSpec().getReplicas()).isGreaterThanOrEqualTo(2);
      var c = d.getSpec().getTemplate().getSpec().getContainers().get(0);
      assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
      assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
      assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
      // A read-only root needs writable mounts for what the gateway writes: its data dir and /tmp.
      if (Boolean.TRUE.equals(c.getSecurityContext().getReadOnlyRootFilesystem())) {
        String dataDir = c.getEnv().stream().filter(e -> e.getName().equals("CONVEYOR_DATA_DIR")).findFirst().orElseThrow().getValue();
        var mounts = c.getVolumeMounts().stream().filter(m -> !Boolean.TRUE.equals(m.getReadOnly()))
            .map(io.fabric8.kubernetes.api.model.VolumeMount::getMountPath).toList();
        assertThat(mounts).contains(dataDir, "/tmp");
      }
    }
  }

  @Test
  void theMountedConfigPassesConveyorsValidation() throws Exception {
    String yaml = Files.readString(DEPLOY.resolve("base/conveyor.yaml"));
    ConveyorConfig config = ConfigLoader.parse(yaml, Map.of("ACME_CALLBACK_SECRET", "a-secret-of-sixteen-chars-or-more"));
    assertThat(config.knative().enabled()).isTrue();
    assertThat(config.kafka().embedded()).isFalse();
    assertThat(config.samples().enabled()).isFalse();
  }

  @Test
  void theConfigsInsideConfigMapsParse() throws Exception {
    YAMLMapper yaml = new YAMLMapper();
    for (String[] f : new String[][] {{"tracing/otel-collector.yaml", "config.yaml"},
        {"monitoring/prometheus-scrape.yaml", "conveyor-scrape.yml"}}) {
      ConfigMap cm;
      try (InputStream in = Files.newInputStream(DEPLOY.resolve(f[0]))) {
        cm = client.load(in).items().stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast).findFirst().orElseThrow();
      }
      JsonNode parsed = yaml.readTree(cm.getData().get(f[1]));
      assertThat(parsed.isObject()).as(f[0]).isTrue();
    }
  }

  @Test
  void everyDashboardQueryNamesAMetricThatExists() throws Exception {
    Set<String> exported = exportedMetricNames();
    JsonNode dash = new ObjectMapper().readTree(DEPLOY.resolve("monitoring/grafana-dashboard.json").toFile());
    Pattern metric = Pattern.compile("\\b((?:conveyor|kn|activator)_[a-z_]+)\\b");
    int queries = 0;
    Set<String> used = new HashSet<>();
    for (JsonNode p : dash.path("panels")) {
      for (JsonNode t : p.path("targets")) {
        Matcher m = metric.matcher(t.path("expr").asText());
        boolean any = false;
        while (m.find()) {
          if (LABELS.contains(m.group(1))) continue;
          any = true;
          used.add(m.group(1));
          assertThat(exported.contains(m.group(1)) || KNATIVE_METRICS.contains(m.group(1)))
              .as(p.path("title").asText() + ": " + m.group(1)).isTrue();
        }
        assertThat(any).as("a query without a metric: " + t.path("expr").asText()).isTrue();
        queries++;
      }
    }
    assertThat(queries).isGreaterThanOrEqualTo(10);
    assertThat(used).as("the Activator's series sit beside Conveyor's").containsAll(KNATIVE_METRICS);
  }

  @Test
  void everyMetricOfSpecSection8IsExported() {
    assertThat(exportedMetricNames()).contains("conveyor_invocations_accepted_total", "conveyor_invocations_completed_total",
        "conveyor_attempts_total", "conveyor_retries_total", "conveyor_deadletters_total",
        "conveyor_invocation_duration_seconds_bucket", "conveyor_queue_wait_seconds_bucket", "conveyor_cold_starts_total",
        "conveyor_cold_start_duration_seconds_bucket", "conveyor_inflight", "conveyor_throttled_total",
        "conveyor_circuit_state", "conveyor_usage_records_total");
  }

  /** What /metrics shows once every kind of event happened once. */
  private static Set<String> exportedMetricNames() {
    try (Metrics m = new Metrics()) {
      m.accepted("acme", "acme", "resize");
      m.completed("acme", "acme", "resize", "succeeded");
      m.attempt("acme", "acme", "resize", "resize-00001", "success");
      m.retry("acme", "acme", "resize");
      m.deadletter("acme", "acme", "resize");
      m.platformDelay("acme", "acme", "resize");
      m.coldStart("acme", "acme", "resize", "resize-00001", 800);
      m.post("acme", "callback", "delivered");
      m.usageRecord("acme");
      m.rejected("acme", "rate");
      m.duration("acme", "acme", "resize", "resize-00001", 12);
      m.queueWait("acme", "acme", "resize", 3);
      m.inflight("acme").incrementAndGet();
      m.queued("acme", new java.util.concurrent.atomic.AtomicLong(3));
      var connector = m.connector("orders", "kafka");
      connector.received(1);
      connector.lagRecords("orders-0", 5);
      connector.lagSeconds(0.5);
      m.gauge("conveyor.usage.forward.lag", new java.util.concurrent.atomic.AtomicLong(2));
      m.usageForwarded("taken", 10);
      new Breakers(m.registry(), Clock.systemUTC()).of(new FunctionTarget("acme", "resize", URI.create("http://x"), 128, 10,
          ConfigLoader.defaultDelivery(), ConfigLoader.defaultBreaker(), null, null));
      Set<String> names = new HashSet<>();
      for (String line : m.scrape().split("\n")) {
        if (line.isBlank() || line.startsWith("#")) continue;
        int end = line.indexOf('{');
        names.add(end > 0 ? line.substring(0, end) : line.substring(0, line.indexOf(' ')));
      }
      return names;
    }
  }
}
