package dev.conveyor.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.deploycheck.Manifests.Doc;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.strimzi.api.kafka.model.bridge.KafkaBridge;
import io.strimzi.api.kafka.model.connect.KafkaConnect;
import io.strimzi.api.kafka.model.connector.KafkaConnector;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.kafka.KafkaClusterSpec;
import io.strimzi.api.kafka.model.mirrormaker2.KafkaMirrorMaker2;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.nodepool.ProcessRoles;
import io.strimzi.api.kafka.model.rebalance.KafkaRebalance;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every Strimzi object under {@code deploy/} as Strimzi 1.2.0 reads it: its apiVersion is the one the
 * API class declares (only {@code kafka.strimzi.io/v1} is served since Strimzi 1.0), it loads into
 * Strimzi's own model (io.strimzi:api 1.2.0) with no unknown field, and it meets the constraints the
 * CRDs are generated from ({@link StrimziSchema}). The Kafka runs a version Strimzi 1.2.0 supports,
 * in KRaft, and the node pools and topics belong to a Kafka that is here.
 */
class StrimziManifestsTest {
  static final Models STRIMZI = new Models("Strimzi 1.2.0", Kafka.class, KafkaNodePool.class, KafkaTopic.class,
      KafkaUser.class, KafkaConnect.class, KafkaConnector.class, KafkaBridge.class, KafkaMirrorMaker2.class, KafkaRebalance.class);
  /**
   * Kafka versions Strimzi 1.2.0 runs: the entries with {@code supported: true} of kafka-versions.yaml
   * in strimzi/strimzi-kafka-operator at tag 1.2.0 (the file is not part of io.strimzi:api).
   */
  static final Set<String> SUPPORTED_KAFKA = Set.of("4.2.0", "4.2.1", "4.3.0", "4.3.1");
  /** Annotations Strimzi ignores since 0.48, where KRaft and node pools became the only mode (its CHANGELOG). */
  static final Set<String> IGNORED_ANNOTATIONS = Set.of("strimzi.io/kraft", "strimzi.io/node-pools");
  private static final String CLUSTER_LABEL = "strimzi.io/cluster";

  static boolean isStrimzi(Doc d) {
    return d.apiVersion().contains("strimzi.io/") || STRIMZI.hasKind(d.kind());
  }

  /** What is wrong with the Strimzi objects among {@code docs} (empty: Strimzi 1.2.0 takes them). */
  static List<String> problems(List<Doc> docs, List<HasMetadata> read) {
    List<String> problems = new ArrayList<>();
    for (Doc d : docs) {
      if (!isStrimzi(d)) continue;
      HasMetadata o = STRIMZI.read(d, problems);
      if (o == null) continue;
      read.add(o);
      List<String> schema = new ArrayList<>();
      StrimziSchema.check(o, "", schema);
      schema.forEach(p -> problems.add(d.where() + ": " + p));
      Map<String, String> annotations = o.getMetadata().getAnnotations();
      if (annotations != null) {
        for (String a : IGNORED_ANNOTATIONS) {
          if (annotations.containsKey(a)) problems.add(d.where() + ": annotation " + a + " is ignored by Strimzi since 0.48");
        }
      }
      if (o instanceof Kafka k && k.getSpec() != null && k.getSpec().getKafka() != null) {
        KafkaClusterSpec spec = k.getSpec().getKafka();
        if (!SUPPORTED_KAFKA.contains(spec.getVersion())) {
          problems.add(d.where() + ": spec.kafka.version " + spec.getVersion() + " is not one Strimzi 1.2.0 runs " + new java.util.TreeSet<>(SUPPORTED_KAFKA));
        }
        for (String key : spec.getConfig().keySet()) {
          if (forbidden(key)) problems.add(d.where() + ": spec.kafka.config." + key + " is set by Strimzi, not here");
        }
      }
    }
    // Node pools and topics name their Kafka with a label; the Kafka must be here, in their namespace.
    List<Kafka> kafkas = read.stream().filter(Kafka.class::isInstance).map(Kafka.class::cast).toList();
    for (HasMetadata o : read) {
      if (!(o instanceof KafkaNodePool) && !(o instanceof KafkaTopic)) continue;
      String cluster = o.getMetadata().getLabels() == null ? null : o.getMetadata().getLabels().get(CLUSTER_LABEL);
      boolean found = kafkas.stream().anyMatch(k -> k.getMetadata().getName().equals(cluster)
          && java.util.Objects.equals(k.getMetadata().getNamespace(), o.getMetadata().getNamespace()));
      if (!found) {
        problems.add(o.getKind() + " " + o.getMetadata().getName() + ": label " + CLUSTER_LABEL + "=" + cluster
            + " names no Kafka in its namespace " + o.getMetadata().getNamespace());
      }
    }
    // KRaft: a Kafka's node pools must hold both roles.
    for (Kafka k : kafkas) {
      EnumSet<ProcessRoles> roles = EnumSet.noneOf(ProcessRoles.class);
      read.stream().filter(KafkaNodePool.class::isInstance).map(KafkaNodePool.class::cast)
          .filter(p -> p.getMetadata().getLabels() != null && k.getMetadata().getName().equals(p.getMetadata().getLabels().get(CLUSTER_LABEL)))
          .filter(p -> p.getSpec() != null && p.getSpec().getRoles() != null)
          .forEach(p -> p.getSpec().getRoles().stream().filter(java.util.Objects::nonNull).forEach(roles::add));
      if (!roles.containsAll(EnumSet.of(ProcessRoles.CONTROLLER, ProcessRoles.BROKER))) {
        problems.add("Kafka " + k.getMetadata().getName() + ": its KafkaNodePools have roles " + roles + ", KRaft needs controller and broker");
      }
    }
    return problems;
  }

  /** Strimzi's own rule for spec.kafka.config keys (KafkaClusterSpec's FORBIDDEN_PREFIXES and their exceptions). */
  static boolean forbidden(String key) {
    List<String> prefixes = Arrays.stream(KafkaClusterSpec.FORBIDDEN_PREFIXES.split(",")).map(String::trim).toList();
    List<String> exceptions = Arrays.stream(KafkaClusterSpec.FORBIDDEN_PREFIX_EXCEPTIONS.split(",")).map(String::trim).toList();
    return prefixes.stream().anyMatch(key::startsWith) && !exceptions.contains(key);
  }

  @Test
  void everyStrimziObjectIsOneStrimzi12Takes() {
    List<Doc> docs = Manifests.objects();
    List<HasMetadata> read = new ArrayList<>();
    List<String> problems = problems(docs, read);
    System.out.printf("Strimzi objects under deploy/: %d read into io.strimzi:api 1.2.0, %d problems%n", read.size(), problems.size());
    problems.forEach(p -> System.out.println("  " + p));
    assertThat(problems).as("Strimzi 1.2.0 would refuse or ignore these").isEmpty();
    assertThat(read.stream().map(HasMetadata::getKind).distinct()).contains("Kafka", "KafkaNodePool", "KafkaTopic");
  }

  @Test
  void theCheckRefusesWhatStrimzi12DoesNot() {
    String ok = """
        apiVersion: kafka.strimzi.io/v1
        kind: Kafka
        metadata: { name: k, namespace: kafka }
        spec:
          kafka:
            version: 4.3.1
            listeners: [{ name: plain, port: 9092, type: internal, tls: false }]
        ---
        apiVersion: kafka.strimzi.io/v1
        kind: KafkaNodePool
        metadata: { name: p, namespace: kafka, labels: { strimzi.io/cluster: k } }
        spec: { replicas: 3, roles: [controller, broker], storage: { type: ephemeral } }
        """;
    assertThat(problems(Manifests.parse(ok), new ArrayList<>())).isEmpty();

    // Each of these alone makes the same pair fail.
    // Each of these alone makes the same pair fail.
    List<String[]> broken = List.of(
        new String[] {"apiVersion: kafka.strimzi.io/v1\nkind: Kafka", "apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka"},
        new String[] {"version: 4.3.1", "version: 4.0.0"},
        new String[] {"tls: false }", "tls: false, tlss: true }"},
        new String[] {"roles: [controller, broker], ", ""},
        new String[] {"replicas: 3,", "replicas: \"3\","},
        new String[] {"name: plain, port: 9092", "name: plain, port: 80"},
        new String[] {"name: plain, port: 9092", "name: plain-listener-name, port: 9092"},
        new String[] {"metadata: { name: k, namespace: kafka }", "metadata: { name: k, namespace: kafka, annotations: { strimzi.io/kraft: enabled } }"},
        new String[] {"roles: [controller, broker]", "roles: [broker]"},
        new String[] {"roles: [controller, broker]", "roles: [controller, brokers]"},
        new String[] {"type: ephemeral", "type: ephemeral, kraftMetadata: sharedd"},
        new String[] {"strimzi.io/cluster: k", "strimzi.io/cluster: other"},
        new String[] {"    listeners:", "    config: { node.id: 1 }\n    listeners:"});
    for (String[] e : broken) {
      assertThat(ok).contains(e[0]);
      List<String> problems = problems(Manifests.parse(ok.replace(e[0], e[1])), new ArrayList<>());
      assertThat(problems).as(e[1]).isNotEmpty();
      System.out.println("refused '" + e[1].replace("\n", " ").strip() + "': " + problems.get(0));
    }
  }
}
