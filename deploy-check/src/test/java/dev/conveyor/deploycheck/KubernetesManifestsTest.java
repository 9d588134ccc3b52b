package dev.conveyor.deploycheck;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.deploycheck.Manifests.Doc;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/**
 * Every other object under {@code deploy/} read strictly into fabric8's typed model of its kind at the
 * apiVersion Kubernetes serves (fabric8 7.8.0's model is generated from Kubernetes 1.35's API,
 * k8s.io/api v0.35.2, and from the Prometheus Operator's monitoring.coreos.com/v1 of v0.91.0: its
 * kubernetes-model-generator/openapi/generator/go.mod). Only served versions are listed: a
 * PodDisruptionBudget of policy/v1beta1 (gone since Kubernetes 1.25) or a kind no model here knows
 * fails. So does every PrometheusRule, ServiceMonitor or PodMonitor anywhere under deploy/.
 */
class KubernetesManifestsTest {
  static final Models KUBERNETES = new Models("Kubernetes 1.35 (fabric8 7.8.0's model)",
      Namespace.class, ServiceAccount.class, ConfigMap.class, Secret.class, Service.class,
      Deployment.class, DaemonSet.class, StatefulSet.class, Job.class, CronJob.class, PodDisruptionBudget.class,
      Role.class, RoleBinding.class, ClusterRole.class, ClusterRoleBinding.class, NetworkPolicy.class, Ingress.class,
      HorizontalPodAutoscaler.class,
      ServiceMonitor.class, PodMonitor.class, PrometheusRule.class);

  static List<String> problems(List<Doc> docs, List<HasMetadata> read) {
    List<String> problems = new ArrayList<>();
    for (Doc d : docs) {
      if (StrimziManifestsTest.isStrimzi(d)) continue;
      HasMetadata o = KUBERNETES.read(d, problems);
      if (o != null) read.add(o);
    }
    return problems;
  }

  @Test
  void everyOtherObjectLoadsStrictlyIntoItsTypedModel() {
    List<HasMetadata> read = new ArrayList<>();
    List<String> problems = problems(Manifests.objects(), read);
    System.out.printf("Kubernetes and Prometheus Operator objects under deploy/: %d read strictly, %d problems%n", read.size(), problems.size());
    problems.forEach(p -> System.out.println("  " + p));
    assertThat(problems).isEmpty();
    assertThat(read.stream().map(HasMetadata::getKind).distinct()).contains("Namespace", "ServiceAccount", "Role", "RoleBinding",
        "Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "ServiceMonitor");
    long rules = read.stream().filter(PrometheusRule.class::isInstance).count();
    System.out.println("PrometheusRules under deploy/: " + rules);
  }

  /** A ServiceMonitor scrapes Services it selects, on a port they name: both must be here. */
  @Test
  void everyServiceMonitorSelectsAServiceAndPortThatExist() {
    List<HasMetadata> read = new ArrayList<>();
    problems(Manifests.objects(), read);
    List<Service> services = read.stream().filter(Service.class::isInstance).map(Service.class::cast).toList();
    List<ServiceMonitor> monitors = read.stream().filter(ServiceMonitor.class::isInstance).map(ServiceMonitor.class::cast).toList();
    assertThat(monitors).isNotEmpty();
    for (ServiceMonitor m : monitors) {
      Map<String, String> selector = m.getSpec().getSelector().getMatchLabels();
      List<String> namespaces = m.getSpec().getNamespaceSelector() == null || m.getSpec().getNamespaceSelector().getMatchNames() == null
          || m.getSpec().getNamespaceSelector().getMatchNames().isEmpty()
          ? List.of(m.getMetadata().getNamespace()) : m.getSpec().getNamespaceSelector().getMatchNames();
      List<Service> selected = services.stream()
          .filter(s -> namespaces.contains(s.getMetadata().getNamespace()))
          .filter(s -> s.getMetadata().getLabels() != null && s.getMetadata().getLabels().entrySet().containsAll(selector.entrySet()))
          .toList();
      assertThat(selected).as("Services selected by ServiceMonitor " + m.getMetadata().getName()).isNotEmpty();
      for (var e : m.getSpec().getEndpoints()) {
        assertThat(selected).as("ServiceMonitor " + m.getMetadata().getName() + " port " + e.getPort())
            .allMatch(s -> s.getSpec().getPorts().stream().anyMatch(p -> Objects.equals(p.getName(), e.getPort())));
      }
    }
  }

  @Test
  void theCheckRefusesWhatKubernetesDoesNot() {
    String ok = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: { name: d, namespace: n }
        spec:
          selector: { matchLabels: { app: d } }
          template:
            metadata: { labels: { app: d } }
            spec:
              containers:
                - { name: c, image: i, ports: [{ name: http, containerPort: 8080 }], resources: { requests: { cpu: "1" } } }
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: { name: d, namespace: n }
        spec: { minAvailable: 1, selector: { matchLabels: { app: d } } }
        ---
        apiVersion: monitoring.coreos.com/v1
        kind: ServiceMonitor
        metadata: { name: d, namespace: n }
        spec:
          selector: { matchLabels: { app: d } }
          endpoints: [{ port: http, path: /metrics, interval: 15s }]
        ---
        apiVersion: monitoring.coreos.com/v1
        kind: PrometheusRule
        metadata: { name: d, namespace: n }
        spec:
          groups:
            - name: g
              rules: [{ alert: A, expr: up == 0, for: 5m, labels: { severity: page } }]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: { name: d, namespace: n }
        rules: [{ apiGroups: [""], resources: [pods], verbs: [list] }]
        """;
    assertThat(problems(Manifests.parse(ok), new ArrayList<>())).isEmpty();

    // Each of these alone makes the same documents fail.
    List<String[]> broken = List.of(
        new String[] {"apiVersion: policy/v1\n", "apiVersion: policy/v1beta1\n"},
        new String[] {"image: i,", "image: i, imagePullPolicyy: Always,"},
        new String[] {"containerPort: 8080", "containerPort: \"8080\""},
        new String[] {"interval: 15s", "intervall: 15s"},
        new String[] {"labels: { severity: page }", "labels: { severity: page }, forr: 1m"},
        new String[] {"labels: { severity: page }", "labels: { severity: 1 }"},
        new String[] {"name: d, namespace: n }\nrules", "name: D, namespace: n }\nrules"},
        new String[] {"rules: [{ apiGroups", "rule: [{ apiGroups"},
        new String[] {"kind: Role\n", "kind: Rolle\n"});
    for (String[] e : broken) {
      assertThat(ok).contains(e[0]);
      List<String> problems = problems(Manifests.parse(ok.replace(e[0], e[1])), new ArrayList<>());
      assertThat(problems).as(e[1]).isNotEmpty();
      System.out.println("refused '" + e[1].replace("\n", " ").strip() + "': " + problems.get(0));
    }
  }
}
