package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The scrape jobs the dashboards and alerts rely on: the plain-Prometheus jobs
 * (prometheus-scrape.yaml) and the operator's PodMonitors (knative-podmonitors.yaml) give the
 * targets the same job names and copy the same pod labels, and Prometheus accepts the jobs.
 */
class ScrapeJobsTest {
  private static final Path MONITORING = Path.of("..", "deploy", "monitoring");
  private static final YAMLMapper YAML = new YAMLMapper();

  private static JsonNode scrapeConfig() throws Exception {
    JsonNode cm = YAML.readTree(MONITORING.resolve("prometheus-scrape.yaml").toFile());
    return YAML.readTree(cm.path("data").path("conveyor-scrape.yml").asText());
  }

  /** For each job, the target labels its relabelling writes from a source label: target -> source. */
  private static Map<String, Map<String, String>> copiedLabels(JsonNode jobs, String jobField, String relabelField,
      String sourceField, String targetField) {
    Map<String, Map<String, String>> out = new TreeMap<>();
    for (JsonNode job : jobs) {
      Map<String, String> copied = new TreeMap<>();
      for (JsonNode r : job.path(relabelField)) {
        String action = r.path("action").asText("replace");
        if (action.equals("replace") && r.has(sourceField) && r.has(targetField)) {
          copied.put(r.path(targetField).asText(), r.path(sourceField).get(0).asText());
        }
      }
      out.put(job.path(jobField).asText(), copied);
    }
    return out;
  }

  @Test
  void thePodMonitorsGiveTheKnativeTargetsTheJobNamesAndLabelsOfThePlainJobs() throws Exception {
    Map<String, Map<String, String>> plain = copiedLabels(scrapeConfig().path("scrape_configs"), "job_name", "relabel_configs",
        "source_labels", "target_label");
    assertThat(plain).containsOnlyKeys("conveyor", "knative-activator", "knative-autoscaler", "knative-queue-proxy");
    assertThat(plain.get("knative-queue-proxy")).containsEntry("kn_service_name",
        "__meta_kubernetes_pod_label_serving_knative_dev_service").containsKeys("k8s_namespace_name", "kn_revision_name");
    // The Activator's and autoscaler's series carry the revision's names themselves: no target label may take them.
    assertThat(plain.get("knative-activator")).doesNotContainKeys("k8s_namespace_name", "kn_service_name", "kn_revision_name");

    Map<String, Map<String, String>> operator = new TreeMap<>();
    for (JsonNode pm : YAML.readValues(YAML.createParser(MONITORING.resolve("knative-podmonitors.yaml").toFile()),
        JsonNode.class).readAll()) {
      assertThat(pm.path("kind").asText()).isEqualTo("PodMonitor");
      JsonNode endpoint = pm.path("spec").path("podMetricsEndpoints").get(0);
      String job = null;
      Map<String, String> copied = new TreeMap<>();
      for (JsonNode r : endpoint.path("relabelings")) {
        if (r.path("targetLabel").asText().equals("job")) job = r.path("replacement").asText();
        else if (r.has("sourceLabels")) copied.put(r.path("targetLabel").asText(), r.path("sourceLabels").get(0).asText());
      }
      assertThat(job).as(pm.path("metadata").path("name").asText() + " sets job").isNotNull();
      operator.put(job, copied);
    }
    Map<String, Map<String, String>> knative = new LinkedHashMap<>(plain);
    knative.remove("conveyor");
    assertThat(operator).isEqualTo(knative);
  }

  @Test
  void prometheusAcceptsTheJobsAndTheAlertingRules() throws Exception {
    ObjectNode config = (ObjectNode) scrapeConfig();
    // Debian's Prometheus is built without Kubernetes discovery: check the relabelling against static targets.
    for (JsonNode job : config.path("scrape_configs")) {
      ObjectNode j = (ObjectNode) job;
      assertThat(j.remove("kubernetes_sd_configs")).as(j.path("job_name").asText() + " discovers pods").isNotNull();
      ArrayNode targets = j.putArray("static_configs").addObject().putArray("targets");
      targets.add("127.0.0.1:9090");
    }
    config.putArray("rule_files").add("conveyor-alerts.rules.yaml");
    Path dir = Files.createTempDirectory("conveyor-scrape");
    YAML.writeValue(dir.resolve("prometheus.yml").toFile(), config);
    Files.copy(MONITORING.resolve("alerts").resolve("conveyor-alerts.rules.yaml"), dir.resolve("conveyor-alerts.rules.yaml"));
    Promtool.Result r = Promtool.run(dir, "check", "config", "prometheus.yml");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS: 12 rules found");
  }
}
