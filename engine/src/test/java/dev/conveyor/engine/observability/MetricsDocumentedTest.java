package dev.conveyor.engine.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The documents keep up with the code: docs/observability.md's metrics table has a row for every
 * metric the gateway registers (its name, Prometheus type and labels as /metrics shows them), the
 * README stays a short entry point, and every relative link of the READMEs (top level, config/, deploy/)
 * and of docs/ leads to a file that exists (and, with an anchor, to a heading of it).
 */
class MetricsDocumentedTest {
  private static final Path ROOT = Path.of("..");
  private static final Path README = ROOT.resolve("README.md");
  private static final Path DOCS = ROOT.resolve("docs");
  private static final Path TABLE = DOCS.resolve("observability.md");
  private static final Pattern ROW = Pattern.compile("^\\| `(conveyor_[a-z_]+)` \\| ([a-z]+) \\| ([^|]*) \\|");
  private static final Pattern TICKED = Pattern.compile("`([a-z0-9_]+)`");
  private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

  /** name → [type, labels] of each row of the metrics table. */
  private static Map<String, Row> documented() throws IOException {
    Map<String, Row> rows = new TreeMap<>();
    for (String line : Files.readAllLines(TABLE)) {
      Matcher m = ROW.matcher(line);
      if (!m.find()) continue;
      Set<String> labels = new TreeSet<>();
      Matcher t = TICKED.matcher(m.group(3));
      while (t.find()) labels.add(t.group(1));
      rows.put(m.group(1), new Row(m.group(2), labels));
    }
    return rows;
  }

  /** name → [type, labels] of each Conveyor metric on /metrics once every kind of event happened. */
  private static Map<String, Row> exported() {
    Map<String, String> types = new LinkedHashMap<>();
    Map<String, Set<String>> labels = new TreeMap<>();
    for (String line : EveryMetric.scrape().split("\n")) {
      if (line.startsWith("# TYPE conveyor_")) {
        String[] p = line.split(" ");
        types.put(p[2], p[3]);
      } else if (line.startsWith("conveyor_")) {
        int brace = line.indexOf('{');
        String sample = brace > 0 ? line.substring(0, brace) : line.substring(0, line.indexOf(' '));
        String name = types.keySet().stream().filter(n -> sample.equals(n) || sample.startsWith(n + "_"))
            .max(java.util.Comparator.comparingInt(String::length)).orElse(sample);
        Set<String> ls = labels.computeIfAbsent(name, k -> new TreeSet<>());
        if (brace > 0) {
          Matcher m = Pattern.compile("([a-zA-Z0-9_]+)=\"").matcher(line.substring(brace));
          while (m.find()) if (!m.group(1).equals("le")) ls.add(m.group(1));
        }
      }
    }
    Map<String, Row> rows = new TreeMap<>();
    types.forEach((n, t) -> {
      // Micrometer adds a _max gauge beside each timer: documented with its histogram.
      if (n.endsWith("_max") && types.containsKey(n.substring(0, n.length() - 4))) return;
      rows.put(n, new Row(t, labels.getOrDefault(n, Set.of())));
    });
    return rows;
  }

  record Row(String type, Set<String> labels) {}

  @Test
  void everyMetricOfTheHelpTableIsExported() {
    Set<String> names = exported().keySet();
    assertThat(Metrics.HELP.keySet()).allSatisfy(meter -> {
      String base = meter.replace('.', '_');
      assertThat(names).as("the Prometheus name of meter " + meter)
          .anyMatch(n -> n.equals(base) || n.equals(base + "_total") || n.equals(base + "_seconds"));
    });
  }

  @Test
  void everyExportedMetricHasARowWithItsTypeAndLabels() throws IOException {
    Map<String, Row> doc = documented();
    Map<String, Row> exported = exported();
    assertThat(exported).hasSizeGreaterThanOrEqualTo(Metrics.HELP.size());
    assertThat(doc.keySet()).as("metrics missing from the table of " + TABLE).containsAll(exported.keySet());
    assertThat(exported.keySet()).as("rows of " + TABLE + " for metrics the gateway does not register").containsAll(doc.keySet());
    exported.forEach((name, row) -> assertThat(doc.get(name)).as(name + " in " + TABLE + " (type, labels)").isEqualTo(row));
  }

  @Test
  void theReadmeIsAShortEntryPoint() throws IOException {
    assertThat(Files.readAllLines(README).size()).as("README.md lines").isLessThanOrEqualTo(250);
  }

  @Test
  void everyRelativeLinkLeadsToAFileAndHeadingThatExist() throws IOException {
    List<Path> pages = new ArrayList<>(List.of(README, ROOT.resolve("config/README.md"), ROOT.resolve("deploy/README.md")));
    try (Stream<Path> s = Files.list(DOCS)) {
      s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    assertThat(pages).hasSizeGreaterThan(10);
    List<String> broken = new ArrayList<>();
    for (Path page : pages) {
      String text = withoutCode(Files.readString(page));
      Matcher m = LINK.matcher(text);
      while (m.find()) {
        String target = m.group(1);
        if (target.matches("^[a-z]+:.*")) continue; // http:, https:, mailto:
        int hash = target.indexOf('#');
        String file = hash < 0 ? target : target.substring(0, hash);
        Path resolved = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
        if (!Files.exists(resolved)) {
          broken.add(page + ": " + target + " (no such file)");
        } else if (hash >= 0 && resolved.toString().endsWith(".md")
            && !anchors(Files.readString(resolved)).contains(target.substring(hash + 1))) {
          broken.add(page + ": " + target + " (no such heading)");
        }
      }
    }
    assertThat(broken).as("relative links that lead nowhere").isEmpty();
  }

  /** The documents are the contract: none of them points at another document or at an issue tracker's numbers. */
  @Test
  void noDocumentCitesASpecificationSectionOrAnIssue() throws IOException {
    Pattern citation = Pattern.compile("\\bS[P]EC\\b|\u00a7|\\b[Ii]ssues? #?\\d+|(?<![\\w&/#])#\\d+\\b");
    List<Path> pages = new ArrayList<>(List.of(README, ROOT.resolve("config/README.md"), ROOT.resolve("deploy/README.md"),
        DOCS.resolve("openapi.yaml")));
    try (Stream<Path> s = Files.list(DOCS)) {
      s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    List<String> found = new ArrayList<>();
    for (Path page : pages) {
      Matcher m = citation.matcher(Files.readString(page));
      while (m.find()) found.add(page + ": " + m.group());
    }
    assertThat(found).as("citations of a specification or an issue").isEmpty();
  }

  /** The text outside fenced code blocks, where a "](" is no link. */
  private static String withoutCode(String md) {
    StringBuilder out = new StringBuilder();
    boolean code = false;
    for (String line : md.split("\n")) {
      if (line.startsWith("```")) code = !code;
      else if (!code) out.append(line).append('\n');
    }
    return out.toString();
  }

  /** The anchors GitHub derives from a page's headings. */
  static Set<String> anchors(String md) {
    return Arrays.stream(withoutCode(md).split("\n")).filter(l -> l.startsWith("#"))
        .map(l -> l.replaceFirst("^#+\\s*", "").toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9 _-]", "").replace(' ', '-'))
        .collect(Collectors.toSet());
  }
}
