package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.kafka.Topics;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.metering.UsageRollupTopology;
import dev.conveyor.engine.observability.EveryMetric;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/} is what an operator applies: every manifest must load as Kubernetes objects
 * (fabric8's generic loader here; deploy-check/ reads each into its kind's typed model strictly), the
 * config it mounts must pass Conveyor's own validation, every topic the gateway uses must be a
 * KafkaTopic with the gateway's own settings (or be named where topics.yaml says why the gateway
 * creates it), the RBAC must grant what the gateway calls in the namespaces it watches, and every
 * query of the Grafana dashboard must name a metric Conveyor exports or one of Knative's.
 */
class DeployManifestsTest {
  private static final Path DEPLOY = Path.of("..", "deploy");
  /** Knative Serving 1.19.3+ series the dashboard puts beside Conveyor's (DashboardQueriesTest evaluates the joins). */
  private static final Set<String> KNATIVE_METRICS = Set.of("kn_revision_request_concurrency", "kn_revision_pods_count",
      "kn_revision_pods_desired", "http_server_request_duration_seconds_bucket");
  /** Series of the scrape itself and of the Kafka clients' own metrics. */
  private static final Set<String> SCRAPE_METRICS = Set.of("up", "kafka_consumer_fetch_manager_records_lag");
  /** Label names that look like metric names. */
  private static final Set<String> LABELS = Set.of("kn_service_name", "kn_revision_name", "kn_configuration_name");
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
          && !p.toString().endsWith(".rules.yaml") // Prometheus rule files, not Kubernetes objects
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
    assertThat(kinds).contains("Deployment", "Service", "ServiceAccount", "Role", "RoleBinding",
        "PodDisruptionBudget", "Kafka", "KafkaNodePool", "KafkaTopic", "ServiceMonitor", "ConfigMap");
  }

  @Test
  void kustomizationsListFilesThatExist() throws Exception {
    YAMLMapper yaml = new YAMLMapper();
    List<Path> kustomizations;
    try (Stream<Path> files = Files.walk(DEPLOY)) {
      kustomizations = files.filter(p -> p.getFileName().toString().equals("kustomization.yaml")).sorted().toList();
    }
    assertThat(kustomizations).contains(DEPLOY.resolve("base/kustomization.yaml"), DEPLOY.resolve("monitoring/kustomization.yaml"));
    for (Path k : kustomizations) {
      JsonNode root = yaml.readTree(k.toFile());
      List<String> files = new ArrayList<>();
      root.path("resources").forEach(r -> files.add(r.asText()));
      root.path("configMapGenerator").forEach(g -> g.path("files").forEach(f -> files.add(f.asText())));
      root.path("components").forEach(c -> files.add(c.asText()));
      root.path("patches").forEach(pt -> { if (pt.has("path")) files.add(pt.path("path").asText()); });
      assertThat(files).as(k.toString()).isNotEmpty();
      for (String f : files) assertThat(k.getParent().resolve(f)).as(k + " -> " + f).exists();
    }
  }

  /**
   * Knative discovery reads the Services and Revisions of knative.namespaces only: each of them (and
   * no other) gets the reader Role through base/function-namespaces/<namespace>/, listed in
   * base/kustomization.yaml.
   */
  @Test
  void theKnativeReaderRoleIsBoundInExactlyTheWatchedNamespaces() throws Exception {
    ConveyorConfig config = mountedConfig();
    YAMLMapper yaml = new YAMLMapper();
    Path base = DEPLOY.resolve("base");
    Set<String> bound = new java.util.TreeSet<>();
    for (JsonNode r : yaml.readTree(base.resolve("kustomization.yaml").toFile()).path("resources")) {
      Path k = base.resolve(r.asText()).resolve("kustomization.yaml");
      if (!Files.exists(k)) continue;
      JsonNode nested = yaml.readTree(k.toFile());
      List<String> includes = new ArrayList<>();
      nested.path("resources").forEach(n -> includes.add(k.getParent().resolve(n.asText()).normalize().toString()));
      if (includes.contains(base.resolve("knative-reader").normalize().toString())) {
        assertThat(nested.path("namespace").asText()).as(k.toString()).isNotBlank();
        bound.add(nested.path("namespace").asText());
      }
    }
    assertThat(bound).as("namespaces with the Knative reader Role").containsExactlyInAnyOrderElementsOf(config.knative().namespaces());
    // The Lease Role sits where leader election takes its Leases.
    List<HasMetadata> rbac;
    try (InputStream in = Files.newInputStream(base.resolve("rbac.yaml"))) {
      rbac = client.load(in).items();
    }
    assertThat(rbac).filteredOn(o -> o.getKind().equals("Role")).extracting(o -> o.getMetadata().getNamespace())
        .containsOnly(config.leaderElection().namespace());
  }

  /**
   * Only what fabric8's informers and LeaseLock call: an informer lists, then watches (fabric8's
   * Reflector); LeaseLock gets its Lease by name, creates it, and changes it with a JSON merge patch
   * (kubernetes-client-api, extended/leaderelection/resourcelock/ResourceLock.java). Nothing cluster-wide.
   */
  @Test
  void theRbacGrantsOnlyTheVerbsTheGatewayUses() throws Exception {
    Map<String, List<String>> verbs = new java.util.HashMap<>();
    List<String> kinds = new ArrayList<>();
    for (Path f : manifests()) {
      if (!f.normalize().startsWith(DEPLOY.resolve("base").normalize())) continue;
      try (InputStream in = Files.newInputStream(f)) {
        for (HasMetadata o : client.load(in).items()) {
          kinds.add(o.getKind());
          if (o instanceof io.fabric8.kubernetes.api.model.rbac.Role role) {
            for (var rule : role.getRules()) {
              for (String g : rule.getApiGroups()) {
                for (String r : rule.getResources()) verbs.put(g + "/" + r, rule.getVerbs());
              }
            }
          }
        }
      }
    }
    assertThat(kinds).as("what base/ applies").doesNotContain("ClusterRole", "ClusterRoleBinding");
    assertThat(verbs).containsOnlyKeys("serving.knative.dev/services", "serving.knative.dev/revisions", "coordination.k8s.io/leases");
    assertThat(verbs.get("serving.knative.dev/services")).containsExactlyInAnyOrder("list", "watch");
    assertThat(verbs.get("serving.knative.dev/revisions")).containsExactlyInAnyOrder("list", "watch");
    assertThat(verbs.get("coordination.k8s.io/leases")).containsExactlyInAnyOrder("get", "create", "patch");
  }

  /**
   * The topics the gateway creates at start-up (Topics.create, given no function destinations) are
   * exactly the KafkaTopics of kafka/topics.yaml, with the same partitions, replicas and configs.
   */
  @Test
  void everyTopicOfTheGatewayIsAKafkaTopicWithItsSettings() throws Exception {
    ConveyorConfig config = mountedConfig();
    List<NewTopic> created = new ArrayList<>();
    Admin admin = (Admin) java.lang.reflect.Proxy.newProxyInstance(Admin.class.getClassLoader(), new Class<?>[] {Admin.class},
        (proxy, method, args) -> {
          if (method.getName().equals("createTopics")) {
            for (Object t : (java.util.Collection<?>) args[0]) created.add((NewTopic) t);
            return new CreateTopicsResult(Map.of()) {};
          }
          throw new UnsupportedOperationException(method.getName());
        });
    Topics.of(config.kafka().topicPrefix()).create(admin, config.kafka(), config.status(), List.of()).get();
    Map<String, JsonNode> kafkaTopics = kafkaTopics();
    assertThat(kafkaTopics.keySet()).containsExactlyInAnyOrderElementsOf(created.stream().map(NewTopic::name).toList());
    for (NewTopic t : created) {
      JsonNode spec = kafkaTopics.get(t.name());
      assertThat(spec.path("partitions").asInt()).as(t.name() + " partitions").isEqualTo(t.numPartitions());
      assertThat(spec.path("replicas").asInt()).as(t.name() + " replicas").isEqualTo(t.replicationFactor());
      Map<String, String> configs = t.configs() == null ? Map.of() : t.configs();
      for (var c : configs.entrySet()) {
        assertThat(spec.path("config").path(c.getKey()).asText(null)).as(t.name() + " " + c.getKey()).isEqualTo(c.getValue());
      }
    }
  }

  /**
   * The usage rollups' Kafka Streams topics (application id {@code <prefix>usage-rollups}, as
   * Conveyor starts UsageStreams) are created by Kafka Streams: none may be a KafkaTopic, and
   * kafka/topics.yaml names each of them where it says why.
   */
  @Test
  void theRollupsInternalTopicsAreNamedInTopicsYaml(@TempDir Path state) throws Exception {
    ConveyorConfig config = mountedConfig();
    Topics topics = Topics.of(config.kafka().topicPrefix());
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, config.kafka().topicPrefix() + "usage-rollups"); // as Conveyor.java names it
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    Set<String> internal;
    try (TopologyTestDriver driver = new TopologyTestDriver(UsageRollupTopology.build(topics.usage(), topics.usageRollups(), 7), p)) {
      ObjectNode ce = new ObjectMapper().createObjectNode().put("specversion", "1.0").put("type", UsageEmitter.TYPE)
          .put("source", "//t").put("id", "i1:1").put("time", "2026-11-27T10:15:00.000Z");
      ce.putObject("data").put("tenant", "acme").put("namespace", "acme").put("function", "f").put("invocationId", "i1")
          .put("attempt", 1).put("outcome", "success").put("billedDurationMs", 10).put("gibSeconds", "0.001")
          .put("coldStart", false).put("requestBytes", 1).put("responseBytes", 1);
      driver.createInputTopic(topics.usage(), Serdes.String().serializer(), Serdes.ByteArray().serializer())
          .pipeInput("acme", new ObjectMapper().writeValueAsBytes(ce));
      driver.advanceWallClockTime(java.time.Duration.ofSeconds(1)); // the rollups go out once a second
      internal = new java.util.TreeSet<>(driver.producedTopicNames());
    }
    assertThat(internal).contains(topics.usageRollups());
    internal.remove(topics.usageRollups());
    assertThat(internal).as("Kafka Streams' own topics").isNotEmpty();
    String topicsYaml = Files.readString(DEPLOY.resolve("kafka/topics.yaml"));
    Map<String, JsonNode> kafkaTopics = kafkaTopics();
    for (String t : internal) {
      assertThat(kafkaTopics).as(t).doesNotContainKey(t);
      assertThat(topicsYaml).as("kafka/topics.yaml names " + t).containsPattern("(?m)^#.*\\b" + Pattern.quote(t) + "\\b");
    }
  }

  private static ConveyorConfig mountedConfig() throws Exception {
    return ConfigLoader.parse(Files.readString(DEPLOY.resolve("base/conveyor.yaml")),
        Map.of("ACME_CALLBACK_SECRET", "a-secret-of-sixteen-chars-or-more"));
  }

  /** spec of each KafkaTopic of kafka/topics.yaml, by spec.topicName. */
  private static Map<String, JsonNode> kafkaTopics() throws Exception {
    Map<String, JsonNode> out = new java.util.HashMap<>();
    try (var docs = new YAMLMapper().readerFor(JsonNode.class).<JsonNode>readValues(DEPLOY.resolve("kafka/topics.yaml").toFile())) {
      while (docs.hasNext()) {
        JsonNode d = docs.next();
        if (!d.path("kind").asText().equals("KafkaTopic")) continue;
        assertThat(out.put(d.path("spec").path("topicName").asText(), d.path("spec"))).as("a topic declared twice").isNull();
      }
    }
    return out;
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
    Pattern metric = Pattern.compile("\\b((?:conveyor|kn|activator|http_server|kafka_consumer)_[a-z_]+|up)\\b");
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
          assertThat(exported.contains(m.group(1)) || KNATIVE_METRICS.contains(m.group(1)) || SCRAPE_METRICS.contains(m.group(1)))
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
  void theCoreMetricsAreExported() {
    assertThat(exportedMetricNames()).contains("conveyor_invocations_accepted_total", "conveyor_invocations_completed_total",
        "conveyor_attempts_total", "conveyor_retries_total", "conveyor_deadletters_total",
        "conveyor_invocation_duration_seconds_bucket", "conveyor_queue_wait_seconds_bucket", "conveyor_cold_starts_total",
        "conveyor_cold_start_duration_seconds_bucket", "conveyor_inflight", "conveyor_throttled_total",
        "conveyor_circuit_state", "conveyor_usage_records_total");
  }

  /** Every Conveyor metric has a {@code # HELP} text: Prometheus and Grafana show it beside the series. */
  @Test
  void everyConveyorMetricHasHelpText() {
    java.util.List<String> help = new ArrayList<>();
    for (String line : EveryMetric.scrape().split("\n")) {
      if (line.startsWith("# HELP conveyor_")) help.add(line);
    }
    assertThat(help).hasSizeGreaterThanOrEqualTo(20);
    assertThat(help).as("# HELP lines without text").allSatisfy(l -> assertThat(l.split(" ", 4)).hasSize(4)
        .satisfies(parts -> assertThat(parts[3].trim()).isNotEmpty()));
  }

  private static Set<String> exportedMetricNames() {
    Set<String> names = new HashSet<>();
    for (String line : EveryMetric.scrape().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) continue;
      int end = line.indexOf('{');
      names.add(end > 0 ? line.substring(0, end) : line.substring(0, line.indexOf(' ')));
    }
    return names;
  }
}
