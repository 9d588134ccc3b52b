package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.observability.Logs;
import dev.conveyor.engine.testing.LogCapture;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.AbstractMap.SimpleEntry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * {@code deploy/logging/fluent-bit.yaml} under the chart it is written for: the parsers file it names
 * is the one the chart mounts, a real container log path of a Conveyor pod gets that pod's
 * Kubernetes metadata, and a real log line of Conveyor's reaches Elasticsearch as a document it takes,
 * with the trace id where Kibana looks for it.
 *
 * <p>Written from the fluent/helm-charts chart {@code charts/fluent-bit} 0.58.1 (appVersion 5.1.1,
 * commit 5b81bf7a) and fluent/fluent-bit 5.1.1 (commit d55459d4, v5.1.1-4): the chart's
 * {@code values.yaml} ({@code args}, {@code metricsPort}, {@code config.service}), its
 * {@code templates/_pod.tpl} (the config volume's {@code mountPath}) and {@code templates/configmap.yaml}
 * ({@code custom_parsers.conf}); Fluent Bit's {@code src/fluent-bit.c}, {@code src/flb_parser.c},
 * {@code src/flb_router.c}, {@code plugins/in_tail/tail_file.c},
 * {@code plugins/filter_kubernetes/kube_meta.c}, {@code kube_regex.h}, {@code kube_conf.h},
 * {@code plugins/filter_parser/filter_parser.c}, {@code src/flb_parser_json.c},
 * {@code src/multiline/flb_ml_parser_cri.c}, {@code plugins/filter_nest/nest.c},
 * {@code plugins/out_es/es.c} and {@code dockerfiles/Dockerfile}. Each emulated step names its source.
 */
class FluentBitConfigTest {
  private static final Path DEPLOY = Path.of("..", "deploy");

  // The chart's layout. values.yaml: args [--workdir=/fluent-bit/etc, --config=/fluent-bit/etc/conf/fluent-bit.conf];
  // templates/_pod.tpl: the config volume (existingConfigMap, or the chart's own ConfigMap) at /fluent-bit/etc/conf.
  private static final String WORKDIR = "/fluent-bit/etc/";
  private static final String CONFIG_MOUNT = "/fluent-bit/etc/conf/";
  private static final String CONFIG_FILE = "fluent-bit.conf";
  /** values.yaml {@code metricsPort}: the container port {@code http} that both probes use. */
  private static final int CHART_HTTP_PORT = 2020;
  /** What the image puts in the working directory (dockerfiles/Dockerfile, "Configuration files", and schema.json). */
  private static final Set<String> IMAGE_FILES = Set.of("fluent-bit.conf", "parsers.conf", "parsers_ambassador.conf",
      "parsers_java.conf", "parsers_extra.conf", "parsers_openstack.conf", "parsers_cinder.conf", "plugins.conf", "schema.json");

  /** plugins/filter_kubernetes/kube_conf.h, FLB_KUBE_TAG_PREFIX (Linux): kubernetes.c's default of kube_tag_prefix. */
  private static final String DEFAULT_KUBE_TAG_PREFIX = "kube.var.log.containers.";
  /**
   * plugins/filter_kubernetes/kube_regex.h, KUBE_TAG_TO_REGEX, as Java writes it (Java's group names
   * take no underscore: pod_name, namespace_name, container_name, docker_id).
   */
  private static final Pattern KUBE_TAG_TO_REGEX = Pattern.compile(
      "(?<podname>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*)_(?<namespacename>[^_]+)_"
          + "(?<containername>.+)-(?<dockerid>[a-z0-9]{64})\\.log$");

  private static Map<String, String> data;
  private static List<Section> config;
  /** The Deployment's pod: its name prefix, namespace and container, from deploy/base/deployment.yaml. */
  private static String deployment;
  private static String namespace;
  private static String container;

  /** One section of a classic-mode config: its type and its properties, keys lower-cased (Fluent Bit reads them case-insensitively). */
  private record Section(String type, List<Map.Entry<String, String>> props) {
    Optional<String> get(String key) {
      return props.stream().filter(e -> e.getKey().equals(key)).map(Map.Entry::getValue).findFirst();
    }

    String get(String key, String otherwise) {
      return get(key).orElse(otherwise);
    }

    List<String> all(String key) {
      return props.stream().filter(e -> e.getKey().equals(key)).map(Map.Entry::getValue).toList();
    }

    String name() {
      return get("name", "").toLowerCase(Locale.ROOT);
    }

    boolean on(String key, boolean otherwise) {
      return get(key).map(v -> Set.of("on", "true", "yes").contains(v.toLowerCase(Locale.ROOT))).orElse(otherwise);
    }
  }

  @BeforeAll
  static void load() throws Exception {
    YAMLMapper yaml = new YAMLMapper();
    JsonNode cm = yaml.readTree(DEPLOY.resolve("logging/fluent-bit.yaml").toFile());
    assertThat(cm.path("kind").asText()).isEqualTo("ConfigMap");
    data = new LinkedHashMap<>();
    cm.path("data").fields().forEachRemaining(e -> data.put(e.getKey(), e.getValue().asText()));
    assertThat(data).as("the chart runs --config=" + CONFIG_MOUNT + CONFIG_FILE).containsKey(CONFIG_FILE);
    config = parse(data.get(CONFIG_FILE));
    JsonNode d = yaml.readTree(DEPLOY.resolve("base/deployment.yaml").toFile());
    deployment = d.path("metadata").path("name").asText();
    namespace = d.path("metadata").path("namespace").asText();
    container = d.path("spec").path("template").path("spec").path("containers").get(0).path("name").asText();
  }

  @Test
  void theParsersTheFiltersNameAreInTheFilesTheChartMounts() {
    Section service = only("service");
    List<String> files = service.all("parsers_file");
    Set<String> defined = new HashSet<>();
    List<String> resolved = new ArrayList<>();
    for (String f : files) {
      String path = resolveParsersFile(f);
      resolved.add(f + " -> " + path);
      if (path.startsWith(CONFIG_MOUNT) && data.containsKey(path.substring(CONFIG_MOUNT.length()))) {
        for (Section p : parse(data.get(path.substring(CONFIG_MOUNT.length())))) {
          if (p.type().equals("parser")) defined.add(p.get("name", ""));
        }
      }
    }
    System.out.println("Parsers_File under the chart: " + resolved + "; parsers defined by this ConfigMap: " + defined);
    List<String> used = sections("filter").stream().filter(s -> s.name().equals("parser")).flatMap(s -> s.all("parser").stream())
        .toList();
    assertThat(used).as("the JSON parser filter").isNotEmpty();
    for (String p : used) {
      assertThat(defined).as("parser %s (Parsers_File resolved under the chart's --workdir %s: %s)", p, WORKDIR, resolved).contains(p);
    }
    // The chart's probes (/ and /api/v2/health) go to port `http`, its metricsPort.
    assertThat(service.on("http_server", false)).as("HTTP_Server, for the chart's probes").isTrue();
    assertThat(Integer.parseInt(service.get("http_port", "2020"))).as("HTTP_Port").isEqualTo(CHART_HTTP_PORT);
  }

  @Test
  void aConveyorPodsContainerLogGetsThatPodsKubernetesMetadata() {
    String pod = deployment + "-6d8f7b9c5b-x7k2p"; // a ReplicaSet's pod: <deployment>-<pod-template-hash>-<suffix>
    String dockerId = "3f1c0e9a7b5d4c2e8f6a1b3d5c7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e";
    String logPath = "/var/log/containers/" + pod + "_" + namespace + "_" + container + "-" + dockerId + ".log";

    Section tail = sections("input").stream().filter(s -> s.name().equals("tail")).findFirst().orElseThrow();
    assertThat(FileSystems.getDefault().getPathMatcher("glob:" + tail.get("path", "")).matches(Path.of(logPath)))
        .as("the tail input's Path %s reads %s", tail.get("path", ""), logPath).isTrue();
    String tag = tailTag(tail.get("tag", ""), logPath);

    Section kube = sections("filter").stream().filter(s -> s.name().equals("kubernetes")).findFirst().orElseThrow();
    assertThat(matches(tag, kube.get("match", ""))).as("the kubernetes filter's Match %s takes tag %s", kube.get("match", ""), tag)
        .isTrue();
    String prefix = kube.get("kube_tag_prefix", DEFAULT_KUBE_TAG_PREFIX);
    Map<String, String> meta = kubeMetaFromTag(tag, prefix);
    System.out.println("tag " + tag + " with Kube_Tag_Prefix " + prefix + " -> " + meta);
    assertThat(meta).as("metadata the kubernetes filter reads from tag %s with Kube_Tag_Prefix %s", tag, prefix)
        .containsEntry("pod_name", pod).containsEntry("namespace_name", namespace).containsEntry("container_name", container)
        .containsEntry("docker_id", dockerId);
  }

  @Test
  void aConveyorLogLineReachesElasticsearchWithItsTraceIdWhereKibanaLooksForIt() throws Exception {
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    String spanId = "00f067aa0ba902b7";
    Invocation inv = new Invocation("0197ab2c-1111-7222-8333-444455556666", "acme", "acme", "resize", null, new byte[0], null,
        Map.of(), Instant.parse("2026-12-04T14:00:00Z"), null, null, null, null);
    Context trace = Context.root().with(Span.wrap(SpanContext.create(traceId, spanId, TraceFlags.getSampled(), TraceState.getDefault())));
    String line;
    try (LogCapture captured = new LogCapture()) {
      Logs.in(trace, inv, () -> LoggerFactory.getLogger("dev.conveyor.engine.dispatch.InvocationRunner")
          .info("invocation of acme/resize failed after 3 attempts, dead-lettered to conveyor.deadletter: HTTP 500"));
      line = captured.text().lines().filter(l -> l.contains(inv.id())).findFirst().orElseThrow();
    }
    String pod = deployment + "-6d8f7b9c5b-x7k2p";
    String logPath = "/var/log/containers/" + pod + "_" + namespace + "_" + container + "-" + "a".repeat(64) + ".log";
    Section tail = sections("input").stream().filter(s -> s.name().equals("tail")).findFirst().orElseThrow();
    String tag = tailTag(tail.get("tag", ""), logPath);

    // src/multiline/flb_ml_parser_cri.c: the cri parser's record (time kept) before any filter.
    List<Map.Entry<String, Object>> record = new ArrayList<>(List.of(entry("time", "2026-12-04T14:00:00.123456789Z"),
        entry("stream", "stdout"), entry("_p", "F"), entry("log", line)));
    Instant timestamp = null;
    for (Section f : sections("filter")) {
      if (!matches(tag, f.get("match", ""))) continue;
      switch (f.name()) {
        case "parser" -> {
          Parsed p = parserFilter(f, record);
          record = p.record();
          if (p.time() != null) timestamp = p.time();
        }
        case "kubernetes" -> {
          Map<String, String> meta = kubeMetaFromTag(tag, f.get("kube_tag_prefix", DEFAULT_KUBE_TAG_PREFIX));
          if (!meta.isEmpty()) record.add(entry("kubernetes", new LinkedHashMap<String, Object>(meta)));
        }
        case "nest" -> record = nest(f, record);
        default -> throw new AssertionError("a filter this test does not emulate: " + f.name());
      }
    }
    Section es = sections("output").stream().filter(s -> s.name().equals("es")).findFirst().orElseThrow();
    assertThat(matches(tag, es.get("match", ""))).as("the es output's Match %s takes tag %s", es.get("match", ""), tag).isTrue();
    // plugins/out_es/es.c: Replace_Dots (default off) turns dots in keys into underscores, nested maps included.
    if (es.on("replace_dots", false)) record = replaceDots(record);
    System.out.println("document for Elasticsearch: " + record);

    assertThat(duplicateKeys(record)).as("keys Elasticsearch would reject as duplicate fields in %s", record).isEmpty();
    assertThat(timestamp).as("the record's time, from Conveyor's own `time` field").isEqualTo(Instant.parse(
        new ObjectMapper().readTree(line).path("time").asText()));
    // Elasticsearch reads a dotted field name as objects: trace.id is {"trace":{"id"}} or "trace.id".
    assertThat(field(record, "trace.id")).as("trace.id (Elastic Common Schema) in %s", record).contains(traceId);
    assertThat(field(record, "span.id")).as("span.id in %s", record).contains(spanId);
    assertThat(field(record, "invocation_id")).contains(inv.id());
    assertThat(field(record, "tenant")).contains("acme");
    assertThat(field(record, "kubernetes.pod_name")).contains(pod);
    assertThat(field(record, "message")).hasValueSatisfying(m -> assertThat((String) m).contains("dead-lettered"));
  }

  // --- Fluent Bit, emulated ---------------------------------------------------------------------

  /**
   * src/flb_parser.c, flb_parser_conf_file_stat() and flb_parser_conf_file(): a Parsers_File is
   * opened as given (relative to the working directory, which src/fluent-bit.c changes to
   * {@code --workdir} before it reads the config); only a relative name that does not exist there is
   * looked up again under conf_path, the directory of the {@code --config} file.
   */
  private static String resolveParsersFile(String file) {
    if (file.startsWith("/")) return file;
    if (existsUnderTheChart(WORKDIR + file)) return WORKDIR + file;
    // conf_path is the realpath of the --config file's directory (src/fluent-bit.c,
    // flb_service_conf_path_set): the ConfigMap volume's timestamped directory, with the same keys.
    return CONFIG_MOUNT + file;
  }

  private static boolean existsUnderTheChart(String path) {
    if (path.startsWith(CONFIG_MOUNT)) return data.containsKey(path.substring(CONFIG_MOUNT.length()));
    return path.startsWith(WORKDIR) && IMAGE_FILES.contains(path.substring(WORKDIR.length()));
  }

  /**
   * plugins/in_tail/tail_file.c, tag_compose() (no Tag_Regex): the file's path replaces the tag's
   * '*', then '/', '\' and ':' become '.' (dropped as the first character), repeated dots collapse,
   * '*' is dropped, and a trailing dot goes.
   */
  private static String tailTag(String tag, String path) {
    int star = tag.indexOf('*');
    if (star < 0) return tag;
    String composed = tag.substring(0, star) + path + tag.substring(star + 1);
    StringBuilder b = new StringBuilder();
    for (char c : composed.toCharArray()) {
      if (c == '/' || c == '\\' || c == ':') {
        if (b.length() == 0) continue;
        c = '.';
      }
      if (c == '*') continue;
      if (c == '.' && b.length() > 0 && b.charAt(b.length() - 1) == '.') continue;
      b.append(c);
    }
    if (b.length() > 0 && b.charAt(b.length() - 1) == '.') b.setLength(b.length() - 1);
    return b.toString();
  }

  /** src/flb_router.c, router_match(): Match is a pattern in which '*' stands for any run of characters. */
  private static boolean matches(String tag, String match) {
    List<String> parts = new ArrayList<>();
    for (String part : match.split("\\*", -1)) parts.add(Pattern.quote(part));
    return Pattern.compile(String.join(".*", parts)).matcher(tag).matches();
  }

  /**
   * plugins/filter_kubernetes/kube_meta.c, parse_regex_tag_data(): the filter skips as many bytes of
   * the tag as Kube_Tag_Prefix has (it does not check that the tag starts with it; a tag no longer than
   * the prefix + 1 is an error), searches KUBE_TAG_TO_REGEX in the rest (flb_regex_do, an unanchored
   * onig_search), and cb_results() keeps pod_name, namespace_name, container_name and docker_id.
   * Empty: the filter logs "invalid pattern for given tag" and adds nothing.
   */
  private static Map<String, String> kubeMetaFromTag(String tag, String kubeTagPrefix) {
    if (kubeTagPrefix.length() + 1 >= tag.length()) return Map.of();
    Matcher m = KUBE_TAG_TO_REGEX.matcher(tag.substring(kubeTagPrefix.length()));
    if (!m.find()) return Map.of();
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("pod_name", m.group("podname"));
    meta.put("namespace_name", m.group("namespacename"));
    meta.put("container_name", m.group("containername"));
    meta.put("docker_id", m.group("dockerid"));
    return meta;
  }

  private record Parsed(List<Map.Entry<String, Object>> record, Instant time) {}

  /**
   * plugins/filter_parser/filter_parser.c, cb_parser_filter(): the Key_Name value is parsed; with
   * Reserve_Data the record's other keys are appended after the parsed ones as they are
   * (flb_msgpack_expand_map: no key is replaced, so a key in both appears twice); Key_Name itself
   * goes unless Preserve_Key. src/flb_parser_json.c: the Time_Key field sets the record's time and is
   * dropped from the parsed keys unless Time_Keep (default off, flb_parser.c).
   */
  private static Parsed parserFilter(Section f, List<Map.Entry<String, Object>> record) throws Exception {
    String key = f.get("key_name", "");
    Section parser = parsers().get(f.get("parser", ""));
    assertThat(parser).as("parser %s", f.get("parser", "")).isNotNull();
    assertThat(parser.get("format", "")).isEqualToIgnoringCase("json");
    Object raw = record.stream().filter(e -> e.getKey().equals(key)).map(Map.Entry::getValue).findFirst().orElse(null);
    if (!(raw instanceof String text)) return new Parsed(record, null);
    JsonNode json = new ObjectMapper().readTree(text);
    List<Map.Entry<String, Object>> out = new ArrayList<>();
    Instant time = null;
    String timeKey = parser.get("time_key", "");
    for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext();) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals(timeKey)) {
        time = strptime(e.getValue().asText(), parser.get("time_format", ""));
        if (!parser.on("time_keep", false)) continue;
      }
      out.add(entry(e.getKey(), e.getValue().isNull() ? null : e.getValue().isTextual() ? e.getValue().asText() : e.getValue()));
    }
    if (f.on("reserve_data", false)) {
      for (Map.Entry<String, Object> e : record) {
        if (!e.getKey().equals(key) || f.on("preserve_key", false)) out.add(e);
      }
    } else if (f.on("preserve_key", false)) {
      record.stream().filter(e -> e.getKey().equals(key)).forEach(out::add);
    }
    return new Parsed(out, time);
  }

  /** The strptime conversions a Time_Format may use here; %L is Fluent Bit's fraction of a second. */
  private static Instant strptime(String value, String format) {
    String pattern = format.replace("%Y", "yyyy").replace("%m", "MM").replace("%d", "dd").replace("%H", "HH").replace("%M", "mm")
        .replace("%S", "ss").replace("%L", "SSS").replace("T", "'T'").replace("Z", "'Z'");
    assertThat(pattern).as("Time_Format %s uses only %%Y %%m %%d %%H %%M %%S %%L", format).doesNotContain("%");
    return LocalDateTime.parse(value, DateTimeFormatter.ofPattern(pattern)).toInstant(ZoneOffset.UTC);
  }

  /**
   * plugins/filter_nest/nest.c, Operation nest: the keys a Wildcard names (exactly, or by prefix when
   * it ends in '*') move, in order, into a map under Nest_under appended at the end, with
   * Remove_prefix cut from (or Add_prefix put before) their names; no key matching: the record stays.
   */
  private static List<Map.Entry<String, Object>> nest(Section f, List<Map.Entry<String, Object>> record) {
    assertThat(f.get("operation", "")).as("nest operations emulated here").isEqualToIgnoringCase("nest");
    List<String> wildcards = f.all("wildcard");
    List<Map.Entry<String, Object>> kept = new ArrayList<>();
    Map<String, Object> nested = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : record) {
      boolean take = wildcards.stream().anyMatch(w -> w.endsWith("*") ? e.getKey().startsWith(w.substring(0, w.length() - 1))
          : e.getKey().equals(w));
      if (!take) {
        kept.add(e);
        continue;
      }
      String name = e.getKey();
      String remove = f.get("remove_prefix", null);
      String add = f.get("add_prefix", null);
      if (remove != null && name.startsWith(remove)) name = name.substring(remove.length());
      if (add != null) name = add + name;
      nested.put(name, e.getValue());
    }
    if (nested.isEmpty()) return record;
    kept.add(entry(f.get("nest_under", ""), nested));
    return kept;
  }

  @SuppressWarnings("unchecked")
  private static List<Map.Entry<String, Object>> replaceDots(List<Map.Entry<String, Object>> record) {
    List<Map.Entry<String, Object>> out = new ArrayList<>();
    for (Map.Entry<String, Object> e : record) {
      Object v = e.getValue();
      if (v instanceof Map<?, ?> m) {
        Map<String, Object> r = new LinkedHashMap<>();
        for (Map.Entry<String, Object> n : replaceDots(new ArrayList<>(((Map<String, Object>) m).entrySet()))) r.put(n.getKey(), n.getValue());
        v = r;
      }
      out.add(entry(e.getKey().replace('.', '_'), v));
    }
    return out;
  }

  /** Keys that occur twice at the top of the document (Elasticsearch refuses a document with a duplicate field). */
  private static Set<String> duplicateKeys(List<Map.Entry<String, Object>> record) {
    Set<String> seen = new HashSet<>();
    Set<String> twice = new HashSet<>();
    for (Map.Entry<String, Object> e : record) {
      if (!seen.add(e.getKey())) twice.add(e.getKey());
    }
    return twice;
  }

  /** A field as Elasticsearch finds it: "a.b" is the key "a.b", or "b" inside the object "a". */
  @SuppressWarnings("unchecked")
  private static Optional<Object> field(List<Map.Entry<String, Object>> record, String path) {
    for (Map.Entry<String, Object> e : record) {
      if (e.getKey().equals(path) && e.getValue() != null) return Optional.of(e.getValue());
      if (path.startsWith(e.getKey() + ".") && e.getValue() instanceof Map<?, ?> m) {
        Optional<Object> inner = field(new ArrayList<>(((Map<String, Object>) m).entrySet()), path.substring(e.getKey().length() + 1));
        if (inner.isPresent()) return inner;
      }
    }
    return Optional.empty();
  }

  // --- the config -------------------------------------------------------------------------------

  /** Every [PARSER] of the ConfigMap's files, by name. */
  private static Map<String, Section> parsers() {
    Map<String, Section> out = new LinkedHashMap<>();
    for (String text : data.values()) {
      for (Section s : parse(text)) {
        if (s.type().equals("parser")) out.put(s.get("name", ""), s);
      }
    }
    return out;
  }

  private static Section only(String type) {
    List<Section> found = sections(type);
    assertThat(found).as("[%s] sections", type).hasSize(1);
    return found.get(0);
  }

  private static List<Section> sections(String type) {
    return config.stream().filter(s -> s.type().equals(type)).toList();
  }

  /** Fluent Bit's classic mode: [SECTION] lines, then "Key value" lines; '#' starts a comment line. */
  private static List<Section> parse(String text) {
    List<Section> out = new ArrayList<>();
    for (String raw : text.lines().toList()) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) continue;
      assertThat(line).as("@INCLUDE and @SET are not read by this test").doesNotStartWith("@");
      if (line.startsWith("[") && line.endsWith("]")) {
        out.add(new Section(line.substring(1, line.length() - 1).strip().toLowerCase(Locale.ROOT), new ArrayList<>()));
        continue;
      }
      assertThat(out).as("a property before any section: " + line).isNotEmpty();
      String[] kv = line.split("\\s+", 2);
      out.get(out.size() - 1).props().add(new SimpleEntry<>(kv[0].toLowerCase(Locale.ROOT), kv.length > 1 ? kv[1].strip() : ""));
    }
    return out;
  }

  private static Map.Entry<String, Object> entry(String k, Object v) {
    return new SimpleEntry<>(k, v);
  }
}
