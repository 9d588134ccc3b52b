package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * deploy/monitoring/alerts: the plain rules file and the PrometheusRule hold the same rules, every
 * alert is named, labelled and annotated as the runbooks expect, promtool accepts the file, and its
 * unit tests (src/test/resources/monitoring/conveyor-alerts.test.yaml) see each alert fire and stay
 * quiet.
 */
class AlertRulesTest {
  private static final Path ALERTS = Path.of("..", "deploy", "monitoring", "alerts");
  private static final Path RULES = ALERTS.resolve("conveyor-alerts.rules.yaml");
  private static final Path UNIT_TESTS = Path.of("src", "test", "resources", "monitoring", "conveyor-alerts.test.yaml");
  private static final String RUNBOOKS = "https://github.com/conveyor-dev/conveyor/blob/main/docs/operations.md#";
  private static final Set<String> ALERT_NAMES = Set.of("ConveyorDown", "ConveyorNotReady", "ConveyorStatusReaderStopped",
      "ConveyorAcceptFailures", "ConveyorDispatchLag", "ConveyorOldestQueuedAge", "ConveyorCircuitOpen",
      "ConveyorDeadLettersGrowing", "ConveyorCallbacksGivenUp", "ConveyorUsageForwarderLag", "ConveyorRollupLag",
      "ConveyorColdStartSlow");
  private static final YAMLMapper YAML = new YAMLMapper();

  private static List<JsonNode> rules() throws Exception {
    List<JsonNode> out = new java.util.ArrayList<>();
    for (JsonNode g : YAML.readTree(RULES.toFile()).path("groups")) g.path("rules").forEach(out::add);
    return out;
  }

  @Test
  void thePrometheusRuleHoldsExactlyTheRulesFilesGroups() throws Exception {
    JsonNode rule = YAML.readTree(ALERTS.resolve("prometheusrule.yaml").toFile());
    assertThat(rule.path("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
    assertThat(rule.path("kind").asText()).isEqualTo("PrometheusRule");
    assertThat(rule.path("spec")).as("prometheusrule.yaml spec vs conveyor-alerts.rules.yaml")
        .isEqualTo(YAML.readTree(RULES.toFile()));
  }

  @Test
  void everyAlertHasItsNameASeverityASummaryADescriptionAndItsRunbook() throws Exception {
    Set<String> names = new HashSet<>();
    for (JsonNode r : rules()) {
      String name = r.path("alert").asText();
      assertThat(names.add(name)).as("alert defined twice: " + name).isTrue();
      assertThat(r.path("labels").path("severity").asText()).as(name + " severity").isIn("critical", "warning");
      assertThat(r.path("annotations").path("summary").asText()).as(name + " summary").isNotBlank();
      assertThat(r.path("annotations").path("description").asText()).as(name + " description").isNotBlank();
      assertThat(r.path("annotations").path("runbook_url").asText()).as(name + " runbook_url")
          .isEqualTo(RUNBOOKS + name.toLowerCase(Locale.ROOT));
    }
    assertThat(names).containsExactlyInAnyOrderElementsOf(ALERT_NAMES);
  }

  @Test
  void everyConveyorMetricTheAlertsReadIsOneConveyorExports() throws Exception {
    Set<String> exported = DashboardQueriesTest.conveyorSeries().stream().map(DashboardQueriesTest.Series::name)
        .collect(Collectors.toSet());
    Pattern metric = Pattern.compile("\\b(conveyor_[a-z_]+)\\b");
    Set<String> read = new LinkedHashSet<>();
    for (JsonNode r : rules()) {
      Matcher m = metric.matcher(r.path("expr").asText());
      while (m.find()) read.add(m.group(1));
    }
    assertThat(read).hasSizeGreaterThanOrEqualTo(10);
    assertThat(exported).containsAll(read);
  }

  @Test
  void promtoolAcceptsTheRulesFile() throws Exception {
    Promtool.Result r = Promtool.run(ALERTS, "check", "rules", "conveyor-alerts.rules.yaml");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS: " + ALERT_NAMES.size() + " rules found");
  }

  @Test
  void eachAlertFiresAndStaysQuietInPromtoolsUnitTests() throws Exception {
    // Each alert has a case where it fires and one where it does not.
    Set<String> fires = new HashSet<>();
    Set<String> quiet = new HashSet<>();
    for (JsonNode test : YAML.readTree(UNIT_TESTS.toFile()).path("tests")) {
      for (JsonNode c : test.path("alert_rule_test")) {
        (c.path("exp_alerts").isEmpty() ? quiet : fires).add(c.path("alertname").asText());
      }
    }
    assertThat(fires).as("alerts seen firing").containsExactlyInAnyOrderElementsOf(ALERT_NAMES);
    assertThat(quiet).as("alerts seen quiet").containsExactlyInAnyOrderElementsOf(ALERT_NAMES);

    Path dir = Files.createTempDirectory("conveyor-alerts");
    Files.copy(RULES, dir.resolve("conveyor-alerts.rules.yaml"));
    Files.copy(UNIT_TESTS, dir.resolve("conveyor-alerts.test.yaml"));
    Promtool.Result r = Promtool.run(dir, "test", "rules", "conveyor-alerts.test.yaml");
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("SUCCESS");
  }
}
