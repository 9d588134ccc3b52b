package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.conveyor.engine.observability.Metrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every query of each Grafana dashboard (panels and template variables) must return data from the
 * series Knative and Conveyor really write: promtool evaluates each query as a recording rule over
 * input series with exactly those label sets, and a query whose result is empty (a metric of
 * another Knative release, a label one side of a join lacks, a filter no series passes) fails the
 * test with its panel's title.
 *
 * <p>Conveyor's series are what a {@link Metrics} instance prints once every kind of event happened;
 * Knative's are in src/test/resources/monitoring/knative-*-series.txt, each with the upstream source
 * file its name and labels come from. All carry the target labels of the scrape jobs in
 * deploy/monitoring/prometheus-scrape.yaml. The dashboard variables are set to the one namespace and
 * function both sides use (acme, resize), so a filter that lets nothing through fails too.
 */
class DashboardQueriesTest {
  private static final Path DEPLOY = Path.of("..", "deploy", "monitoring");
  private static final Path FIXTURES = Path.of("src", "test", "resources", "monitoring");
  private static final Map<String, String> VARIABLES = Map.of("namespace", "acme", "service", "resize");
  private static final Map<String, String> CONVEYOR_TARGET = Map.of("job", "conveyor", "instance", "10.0.0.5:9090",
      "pod", "conveyor-5d8f7-a1");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final Pattern LABEL_VALUES = Pattern.compile("^label_values\\((.+),\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\)$");
  private static final Pattern FAILED_RECORD = Pattern.compile("expr: \"group\\((q_[0-9]+) == ");

  /** One input series: its name and labels, and whether its value only grows (counters, histogram parts). */
  record Series(String name, Map<String, String> labels, boolean counter) {
    String selector() {
      StringBuilder s = new StringBuilder(name).append('{');
      String sep = "";
      for (var e : new TreeMap<>(labels).entrySet()) {
        s.append(sep).append(e.getKey()).append("=\"").append(e.getValue().replace("\\", "\\\\").replace("\"", "\\\""))
            .append('"');
        sep = ",";
      }
      return s.append('}').toString();
    }
  }

  /** A query of the dashboard: where it is, and the PromQL with the variables set. */
  record Query(String where, String expr) {}

  @ParameterizedTest(name = "{0} over {1}")
  @CsvSource({"grafana-dashboard.json, knative-1.19-series.txt", "grafana-dashboard-knative-1.18.json, knative-1.18-series.txt"})
  void everyQueryOfTheDashboardReturnsDataFromTheSeriesKnativeAndConveyorWrite(String dashboard, String knative)
      throws Exception {
    List<Query> queries = queries(new ObjectMapper().readTree(DEPLOY.resolve(dashboard).toFile()));
    assertThat(queries).as("panel queries and variables").hasSizeGreaterThanOrEqualTo(30);
    List<Series> series = new ArrayList<>(conveyorSeries());
    series.addAll(fixture(Files.readString(FIXTURES.resolve("conveyor-extra-series.txt"))));
    series.addAll(fixture(Files.readString(FIXTURES.resolve(knative))));
    List<String> empty = emptyQueries(queries, series);
    assertThat(empty).as(dashboard + ": queries that can never return data over " + knative).isEmpty();
  }

  /** The check itself can fail: a join on a label one side lacks, and a metric nobody writes, are reported. */
  @Test
  void aQueryJoiningOnALabelOneSideLacksIsReported() throws Exception {
    List<Series> series = new ArrayList<>(conveyorSeries());
    series.addAll(fixture(Files.readString(FIXTURES.resolve("knative-1.19-series.txt"))));
    String join = "sum by (kn_service_name) (rate(conveyor_attempts_total[5m])) / on (kn_service_name) "
        + "sum by (kn_service_name) (kn_revision_request_queued)";
    List<String> empty = emptyQueries(List.of(new Query("join", join),
        new Query("pods", "sum by (kn_service_name) (kn_revision_pods_count{kn_service_name=~\"resize\"})"),
        new Query("mismatch", "conveyor_inflight * on (kn_service_name) group_left () kn_revision_pods_count")), series);
    assertThat(empty).hasSize(2);
    assertThat(empty.get(0)).startsWith("join:");
    assertThat(empty.get(1)).startsWith("mismatch:");
  }

  /** Each panel target and each query variable, as PromQL with the dashboard variables set. */
  static List<Query> queries(JsonNode dash) {
    List<Query> out = new ArrayList<>();
    for (JsonNode v : dash.path("templating").path("list")) {
      if (!"query".equals(v.path("type").asText())) continue;
      Matcher m = LABEL_VALUES.matcher(v.path("query").asText().trim());
      assertThat(m.matches()).as("variable " + v.path("name").asText() + ": label_values(selector, label)").isTrue();
      // label_values(selector, label): the label's values among the selected series.
      String selector = substitute(m.group(1).trim());
      String nonEmpty = m.group(2) + "!=\"\"";
      selector = selector.endsWith("}") ? selector.substring(0, selector.length() - 1) + ", " + nonEmpty + "}"
          : selector + "{" + nonEmpty + "}";
      out.add(new Query("variable $" + v.path("name").asText(), "count by (" + m.group(2) + ") (" + selector + ")"));
    }
    for (JsonNode p : dash.path("panels")) {
      assertThat(p.path("targets").size()).as("panel " + p.path("title").asText() + " has queries").isPositive();
      for (JsonNode t : p.path("targets")) {
        out.add(new Query("panel \"" + p.path("title").asText() + "\" query " + t.path("refId").asText(),
            substitute(t.path("expr").asText())));
      }
    }
    return out;
  }

  /** The dashboard's variables replaced by their test values; anything else with a $ ($1 of label_replace) kept. */
  private static String substitute(String expr) {
    String s = expr;
    for (var v : VARIABLES.entrySet()) s = s.replace("${" + v.getKey() + "}", v.getValue()).replace("$" + v.getKey(), v.getValue());
    return s;
  }

  /**
   * Evaluates the queries with promtool (each as a recording rule, over the series for 40 minutes,
   * read at 30 minutes); returns "where: expr" of each whose result is empty or NaN only.
   */
  static List<String> emptyQueries(List<Query> queries, List<Series> series) throws Exception {
    Path dir = Files.createTempDirectory("conveyor-dashboard");
    YAMLMapper yaml = new YAMLMapper();
    List<Map<String, Object>> rules = new ArrayList<>();
    List<Map<String, Object>> checks = new ArrayList<>();
    for (int i = 0; i < queries.size(); i++) {
      String record = "q_" + i;
      rules.add(Map.of("record", record, "expr", queries.get(i).expr()));
      // Non-empty and not NaN only (NaN != NaN): group() of what is left is {} 1.
      checks.add(Map.of("expr", "group(" + record + " == " + record + ")", "eval_time", "30m",
          "exp_samples", List.of(Map.of("labels", "{}", "value", 1))));
    }
    yaml.writeValue(dir.resolve("dashboard.rules.yaml").toFile(),
        Map.of("groups", List.of(Map.of("name", "dashboard", "rules", rules))));
    List<Map<String, Object>> input = new ArrayList<>();
    for (Series s : series) input.add(Map.of("series", s.selector(), "values", s.counter() ? "0+1x40" : "1x40"));
    Map<String, Object> test = new LinkedHashMap<>();
    test.put("rule_files", List.of("dashboard.rules.yaml"));
    test.put("evaluation_interval", "1m");
    test.put("tests", List.of(Map.of("interval", "1m", "input_series", input, "promql_expr_test", checks)));
    yaml.writeValue(dir.resolve("dashboard.test.yaml").toFile(), test);

    Promtool.Result check = Promtool.run(dir, "check", "rules", "dashboard.rules.yaml");
    assertThat(check.exit()).as("every query parses as PromQL:\n" + check.output()).isZero();
    Promtool.Result run = Promtool.run(dir, "test", "rules", "dashboard.test.yaml");
    java.util.SortedSet<Integer> failed = new java.util.TreeSet<>();
    Matcher m = FAILED_RECORD.matcher(run.output());
    while (m.find()) failed.add(Integer.parseInt(m.group(1).substring(2)));
    List<String> empty = new ArrayList<>();
    for (int i : failed) empty.add(queries.get(i).where() + ": " + queries.get(i).expr());
    assertThat(run.exit() == 0).as("promtool's verdict agrees with the failures read from its output:\n" + run.output())
        .isEqualTo(empty.isEmpty());
    return empty;
  }

  /** What Conveyor's /metrics prints once every kind of event happened, with the scrape job's target labels. */
  static List<Series> conveyorSeries() {
    String text = dev.conveyor.engine.observability.EveryMetric.scrape();
    List<Series> out = new ArrayList<>();
    Map<String, String> types = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] p = line.split(" ");
        types.put(p[2], p[3]);
      }
      if (line.isBlank() || line.startsWith("#") || !line.startsWith("conveyor_")) continue;
      int brace = line.indexOf('{');
      int space = brace > 0 ? line.indexOf(' ', line.lastIndexOf('}')) : line.indexOf(' ');
      String name = line.substring(0, brace > 0 ? brace : space);
      Map<String, String> labels = new LinkedHashMap<>(CONVEYOR_TARGET);
      if (brace > 0) labels.putAll(labels(line.substring(brace + 1, line.lastIndexOf('}'))));
      out.add(new Series(name, labels, growing(name, types)));
    }
    assertThat(out).as("Conveyor's series").hasSizeGreaterThan(20);
    return out;
  }

  private static boolean growing(String name, Map<String, String> types) {
    String type = types.get(name);
    if (type == null) {
      String base = name.replaceFirst("_(bucket|sum|count)$", "");
      type = types.get(base);
      return "histogram".equals(type) || "summary".equals(type);
    }
    return type.equals("counter");
  }

  private static Map<String, String> labels(String inner) {
    Map<String, String> out = new LinkedHashMap<>();
    Matcher m = LABEL.matcher(inner);
    while (m.find()) out.put(m.group(1), m.group(2).replace("\\\"", "\"").replace("\\\\", "\\"));
    return out;
  }

  /**
   * A series file: "# TYPE name gauge|counter|histogram", "# BUCKETS bounds..." for the histogram
   * that follows, then one line per series (a histogram's stands for its _bucket, _sum and _count).
   */
  static List<Series> fixture(String text) {
    List<Series> out = new ArrayList<>();
    Map<String, String> types = new LinkedHashMap<>();
    Map<String, List<String>> buckets = new LinkedHashMap<>();
    String lastType = null;
    for (String raw : text.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("# TYPE ")) {
        String[] p = line.split("\\s+");
        types.put(p[2], p[3]);
        lastType = p[2];
        continue;
      }
      if (line.startsWith("# BUCKETS ")) {
        buckets.put(lastType, List.of(line.substring("# BUCKETS ".length()).trim().split("\\s+")));
        continue;
      }
      if (line.isEmpty() || line.startsWith("#")) continue;
      int brace = line.indexOf('{');
      String name = line.substring(0, brace);
      Map<String, String> labels = labels(line.substring(brace + 1, line.lastIndexOf('}')));
      String type = types.get(name);
      assertThat(type).as("# TYPE before " + name).isNotNull();
      if (type.equals("histogram")) {
        List<String> les = new ArrayList<>(buckets.get(name));
        les.add("+Inf");
        for (String le : les) {
          Map<String, String> withLe = new LinkedHashMap<>(labels);
          withLe.put("le", le);
          out.add(new Series(name + "_bucket", withLe, true));
        }
        out.add(new Series(name + "_sum", labels, true));
        out.add(new Series(name + "_count", labels, true));
      } else {
        out.add(new Series(name, labels, type.equals("counter")));
      }
    }
    return out;
  }
}
