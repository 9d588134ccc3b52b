package dev.conveyor.engine.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.config.ConfigBinder;
import dev.conveyor.connector.spi.ConnectorFactory;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.lang.reflect.Field;
import java.lang.reflect.RecordComponent;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.hibernate.validator.constraints.Range;
import org.hibernate.validator.constraints.time.DurationMin;
import org.junit.jupiter.api.Test;

/**
 * Every key the binding accepts (walked from the records, not listed by hand: the file's and each
 * connector's config record, found as the gateway finds them) has a row in config/README.md whose type
 * cell is the key's type and range and whose default cell holds its default; and every key the
 * reference names is one the binding accepts. A connector's keys are {@code connectors[<type>].<key>}.
 */
class ConfigKeysDocumentedTest {
  /** A key's type and range as the reference writes it, and its default (null: not checked). */
  record Key(String name, String type, String dflt) {}

  /** Defaults that depend on the machine or on another key: the reference says what they are. */
  private static final Map<String, String> COMPUTED = Map.of(
      "status.cacheMaxBytes", "a quarter of the heap",
      "kafka.replicationFactor", "`1` embedded, broker default otherwise",
      "server.warmUp", "`PT60S`; `PT0S` on the embedded broker",
      "connectors[kafka].group", "`conveyor-<name>`");

  @Test
  void everyKeyIsDocumentedWithItsTypeDefaultAndRange() throws Exception {
    Map<String, Key> keys = new LinkedHashMap<>();
    walk(ConveyorConfig.class, "", ConveyorConfig.DEFAULTS, keys);
    for (ConnectorFactory<?> f : ServiceLoader.load(ConnectorFactory.class)) {
      walk(f.configType(), "connectors[" + f.type() + "].", null, keys);
    }
    assertThat(keys).containsKeys("server.port", "tenants[].apiKeys[].sha256", "functions[].delivery.deadLetter.topic",
        "auth.jwt.publicKeys[].pem", "connectors", "connectors[kafka].poisonLimit", "connectors[kafka].target.namespace",
        "connectors[cron].catchUpWindow");
    Map<String, String[]> rows = rows(Files.readString(Path.of("..", "config", "README.md")));
    List<String> problems = new ArrayList<>();
    for (Key k : keys.values()) {
      String[] row = rows.get(k.name());
      if (row == null) {
        problems.add(k.name() + ": no row");
        continue;
      }
      if (!row[1].equals(k.type())) problems.add(k.name() + ": type cell '" + row[1] + "', expected '" + k.type() + "'");
      String dflt = COMPUTED.getOrDefault(k.name(), k.dflt());
      if (dflt != null && !row[2].contains(dflt)) problems.add(k.name() + ": default cell '" + row[2] + "' lacks " + dflt);
    }
    for (String documented : rows.keySet()) {
      if (!keys.containsKey(documented)) problems.add(documented + ": documented, but the binding has no such key");
    }
    assertThat(problems).isEmpty();
  }

  @SuppressWarnings("unchecked")
  private static void walk(Class<?> type, String prefix, Object defaults, Map<String, Key> out) throws Exception {
    if (defaults == null) defaults = ConfigBinder.defaults((Class<? extends Record>) type);
    for (RecordComponent rc : type.getRecordComponents()) {
      String name = prefix + rc.getName();
      Object dflt = rc.getAccessor().invoke(defaults);
      Class<?> element = ConfigBinder.elementType(rc.getGenericType());
      if (rc.getType().isRecord()) {
        walk(rc.getType(), name + ".", dflt, out);
      } else if (element != null && element.isRecord()) {
        walk(element, name + "[].", null, out);
      } else {
        // Constraints are not record-component annotations: the component's field carries them.
        Field field = type.getDeclaredField(rc.getName());
        out.put(name, new Key(name, type(field, element), dflt(field, dflt)));
      }
    }
  }

  private static String type(Field rc, Class<?> element) {
    Class<?> t = rc.getType();
    String type = element != null ? "list of " + scalar(element) : scalar(t);
    if (rc.isAnnotationPresent(ConveyorConfig.HttpUrl.class)) type = "URL";
    Range r = rc.getAnnotation(Range.class);
    if (r != null) type += r.max() == Long.MAX_VALUE ? " ≥ " + r.min() : " " + r.min() + "–" + r.max();
    // A connector's record has the API's constraints only (no Hibernate Validator): @Min and @Max for a range.
    Min min = rc.getAnnotation(Min.class);
    Max max = rc.getAnnotation(Max.class);
    if (min != null || max != null) {
      type += max == null ? " ≥ " + min.value() : " " + (min == null ? 0 : min.value()) + "–" + max.value();
    }
    jakarta.validation.constraints.DecimalMin dm = rc.getAnnotation(jakarta.validation.constraints.DecimalMin.class);
    if (dm != null) type += (dm.inclusive() ? " ≥ " : " > ") + dm.value();
    DurationMin d = rc.getAnnotation(DurationMin.class);
    if (d != null) type += d.nanos() > 0 ? " > PT0S" : " ≥ " + Duration.ofSeconds(d.seconds());
    org.hibernate.validator.constraints.time.DurationMax dmax = rc.getAnnotation(org.hibernate.validator.constraints.time.DurationMax.class);
    if (dmax != null) type += " ≤ " + Duration.ofMinutes(dmax.minutes()).plusSeconds(dmax.seconds());
    return type;
  }

  private static String scalar(Class<?> t) {
    if (t == int.class || t == long.class || t == short.class || t == Integer.class || t == Long.class) return "integer";
    if (t == java.math.BigDecimal.class) return "decimal";
    if (t == Double.class || t == double.class) return "number";
    if (t == boolean.class) return "boolean";
    if (t == String.class) return "string";
    if (t == Duration.class) return "duration";
    if (t == URI.class) return "URL";
    if (t.isEnum()) return java.util.Arrays.stream(t.getEnumConstants()).map(Object::toString).collect(Collectors.joining(" \\| "));
    if (Map.class.isAssignableFrom(t)) return "mapping";
    return "list"; // connectors: each connector type binds its own entries
  }

  private static String dflt(Field rc, Object value) {
    boolean required = rc.isAnnotationPresent(NotNull.class) || rc.isAnnotationPresent(NotBlank.class)
        || rc.isAnnotationPresent(NotEmpty.class);
    if (required) return "required";
    if (value == null) return null;
    if (value instanceof Collection<?> c) return "`" + new TreeSet<>(c) + "`";
    if (value instanceof Map<?, ?> m) return m.isEmpty() ? "`{}`" : "`" + m + "`";
    return value.toString().isEmpty() ? "`\"\"`" : "`" + value + "`";
  }

  /**
   * The reference's table rows by key: {@code | `a.b`, `c` | type | default | meaning |} documents a.b and
   * a.c (a name with a dot is a whole key; {@code xEnv} documents x, which it stands for).
   */
  private static Map<String, String[]> rows(String readme) {
    Map<String, String[]> rows = new LinkedHashMap<>();
    for (String line : readme.lines().filter(l -> l.startsWith("| `")).toList()) {
      String[] cells = line.substring(2).split(" \\| ");
      Matcher m = Pattern.compile("`([^`]+)`").matcher(cells[0]);
      String parent = null;
      while (m.find()) {
        String key = m.group(1).replaceAll("Env$", "");
        if (parent == null) parent = key.contains(".") ? key.substring(0, key.lastIndexOf('.') + 1) : "";
        else if (!key.contains(".")) key = parent + key;
        rows.put(key, cells);
      }
    }
    return rows;
  }
}
