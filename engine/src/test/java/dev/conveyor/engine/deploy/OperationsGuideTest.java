package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code docs/operations.md} has a runbook for every alert, under a heading that is exactly the
 * alert's name (so that {@code docs/operations.md#conveyordown} and the like lead to it), each with
 * the same five parts; its internal links lead somewhere; and it stands alone. The alert names
 * come from {@code deploy/monitoring/alerts/conveyor-alerts.rules.yaml} when that file exists (a
 * renamed alert then needs its runbook renamed), otherwise from the list below.
 */
class OperationsGuideTest {
  private static final Path GUIDE = Path.of("..", "docs", "operations.md");
  private static final Path RULES = Path.of("..", "deploy", "monitoring", "alerts", "conveyor-alerts.rules.yaml");
  private static final List<String> ALERTS = List.of("ConveyorDown", "ConveyorNotReady", "ConveyorStatusReaderStopped",
      "ConveyorAcceptFailures", "ConveyorDispatchLag", "ConveyorOldestQueuedAge", "ConveyorCircuitOpen",
      "ConveyorDeadLettersGrowing", "ConveyorCallbacksGivenUp", "ConveyorUsageForwarderLag", "ConveyorRollupLag",
      "ConveyorColdStartSlow");
  /** The parts of every runbook, as the bold labels that open them. */
  private static final List<String> PARTS = List.of("**What it means.**", "**Impact.**", "**Check.**", "**Do.**", "**Escalate.**");

  private static String guide;
  /** Heading text → the section under it (up to the next heading of the same or a higher level). */
  private static Map<String, String> sections;

  @BeforeAll
  static void read() throws Exception {
    guide = Files.readString(GUIDE);
    sections = sections(guide);
  }

  @Test
  void everyAlertHasARunbookHeadedByItsName() throws Exception {
    List<String> alerts = alertNames();
    assertThat(alerts).isNotEmpty();
    for (String alert : alerts) {
      assertThat(sections).as("a section headed exactly %s (anchor #%s)", alert, anchor(alert)).containsKey(alert);
      String body = sections.get(alert);
      for (String part : PARTS) assertThat(body).as("%s's runbook: %s", alert, part).contains(part);
    }
  }

  @Test
  void runbookLinksInTheRulesLeadToARunbook() throws Exception {
    if (!Files.exists(RULES)) return; // no rules file yet: nothing links here
    Set<String> anchors = anchors();
    Matcher m = Pattern.compile("operations\\.md#([a-z0-9_-]+)").matcher(Files.readString(RULES));
    while (m.find()) assertThat(anchors).as("runbook link #%s in %s", m.group(1), RULES).contains(m.group(1));
  }

  @Test
  void everyInternalLinkLeadsToAHeading() {
    Set<String> anchors = anchors();
    Matcher m = Pattern.compile("\\]\\(#([^)]+)\\)").matcher(guide);
    int links = 0;
    while (m.find()) {
      assertThat(anchors).as("link #%s", m.group(1)).contains(m.group(1));
      links++;
    }
    assertThat(links).as("the guide links its sections").isPositive();
  }

  @Test
  void theGuideStandsAlone() {
    assertThat(guide).as("no reference to a specification document").doesNotContainPattern("\\bS[P]EC\\b");
    assertThat(Pattern.compile("(?i)(issue|#)\\s*#?\\d+\\b").matcher(guide).results().map(r -> r.group()).toList())
        .as("no issue numbers").isEmpty();
  }

  /** The alerts of the rules file (a plain Prometheus rule file or a PrometheusRule), else the fixed list. */
  private static List<String> alertNames() throws Exception {
    if (!Files.exists(RULES)) return ALERTS;
    List<String> names = new ArrayList<>();
    for (JsonNode doc : new YAMLMapper().readerFor(JsonNode.class).<JsonNode>readValues(RULES.toFile()).readAll()) {
      JsonNode groups = doc.has("groups") ? doc.path("groups") : doc.path("spec").path("groups");
      for (JsonNode g : groups) {
        for (JsonNode r : g.path("rules")) {
          if (r.hasNonNull("alert")) names.add(r.path("alert").asText());
        }
      }
    }
    assertThat(names).as("alerts in " + RULES).isNotEmpty();
    return names;
  }

  private static Set<String> anchors() {
    Set<String> out = new LinkedHashSet<>();
    for (String h : sections.keySet()) out.add(anchor(h));
    return out;
  }

  /** GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped, spaces as '-'. */
  static String anchor(String heading) {
    return heading.strip().toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-');
  }

  private static Map<String, String> sections(String markdown) {
    Map<String, String> out = new LinkedHashMap<>();
    List<String> lines = markdown.lines().toList();
    boolean fenced = false;
    List<int[]> heads = new ArrayList<>(); // line index, level
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i);
      if (l.startsWith("```")) fenced = !fenced;
      if (fenced) continue;
      Matcher m = Pattern.compile("^(#{1,6})\\s+(.+?)\\s*$").matcher(l);
      if (m.matches()) heads.add(new int[] {i, m.group(1).length()});
    }
    for (int h = 0; h < heads.size(); h++) {
      int start = heads.get(h)[0];
      int level = heads.get(h)[1];
      int end = lines.size();
      for (int n = h + 1; n < heads.size(); n++) {
        if (heads.get(n)[1] <= level) {
          end = heads.get(n)[0];
          break;
        }
      }
      String title = lines.get(start).replaceFirst("^#{1,6}\\s+", "").strip();
      out.put(title, String.join("\n", lines.subList(start + 1, end)));
    }
    return out;
  }
}
