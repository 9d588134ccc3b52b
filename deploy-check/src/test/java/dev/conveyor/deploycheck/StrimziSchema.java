package dev.conveyor.deploycheck;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import io.strimzi.api.kafka.model.common.UnknownPropertyPreserving;
import io.strimzi.crdgenerator.annotations.Maximum;
import io.strimzi.crdgenerator.annotations.Minimum;
import io.strimzi.crdgenerator.annotations.MinimumItems;
import io.strimzi.crdgenerator.annotations.Pattern;
import io.strimzi.crdgenerator.annotations.RequiredInVersions;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Collections;

/**
 * The constraints Strimzi's CRD schemas carry beyond field names and types. Strimzi generates each
 * CRD's openAPIV3Schema from its API classes (crd-generator's CrdGenerator, at 1.2.0): a property is
 * {@code required} where its getter has {@code @JsonProperty(required = true)} or
 * {@code @RequiredInVersions} covering the version, and {@code @Minimum}, {@code @Maximum},
 * {@code @MinimumItems} and {@code @Pattern} become {@code minimum}, {@code maximum}, {@code minItems}
 * and {@code pattern}. This walks a deserialized object and checks them for {@link #VERSION}.
 */
final class StrimziSchema {
  /** The only API version Strimzi 1.x serves. */
  static final String VERSION = "v1";
  /** Strimzi's API versions, oldest first (crd-generator's ApiVersion). */
  private static final List<String> ORDER = List.of("v1alpha1", "v1beta1", "v1beta2", "v1");

  private StrimziSchema() {}

  static void check(Object value, String path, List<String> problems) {
    walk(value, path, problems, Collections.newSetFromMap(new IdentityHashMap<>()));
  }

  private static void walk(Object value, String path, List<String> problems, Set<Object> seen) {
    if (value == null || !seen.add(value)) return;
    if (value instanceof Collection<?> c) {
      int i = 0;
      for (Object o : c) {
        if (o == null) problems.add(path + "[" + i + "]: null item");
        walk(o, path + "[" + i + "]", problems, seen);
        i++;
      }
      return;
    }
    if (value instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) walk(e.getValue(), path + "." + e.getKey(), problems, seen);
      return;
    }
    if (!value.getClass().getName().startsWith("io.strimzi.api.")) return; // fabric8's parts were read strictly
    if (value instanceof UnknownPropertyPreserving u && !u.getAdditionalProperties().isEmpty()) {
      problems.add(path + ": unknown fields " + u.getAdditionalProperties().keySet());
    }
    BeanDescription bean = Strict.MAPPER.getSerializationConfig().introspect(Strict.MAPPER.constructType(value.getClass()));
    for (BeanPropertyDefinition p : bean.findProperties()) {
      AnnotatedMember getter = p.getAccessor();
      if (getter == null) continue;
      String at = (path.isEmpty() ? "" : path + ".") + p.getName();
      Object v = getter.getValue(value);
      RequiredInVersions req = getter.getAnnotation(RequiredInVersions.class);
      if (v == null && (p.isRequired() || req != null && covers(req.value()))) problems.add(at + ": required");
      Minimum min = getter.getAnnotation(Minimum.class);
      if (min != null && covers(min.apiVersions()) && v instanceof Number n && n.longValue() < min.value()) {
        problems.add(at + ": " + v + " is below the minimum " + min.value());
      }
      Maximum max = getter.getAnnotation(Maximum.class);
      if (max != null && covers(max.apiVersions()) && v instanceof Number n && n.longValue() > max.value()) {
        problems.add(at + ": " + v + " is above the maximum " + max.value());
      }
      MinimumItems items = getter.getAnnotation(MinimumItems.class);
      if (items != null && covers(items.apiVersions()) && v instanceof Collection<?> c && c.size() < items.value()) {
        problems.add(at + ": " + c.size() + " items, at least " + items.value() + " required");
      }
      Pattern pattern = getter.getAnnotation(Pattern.class);
      if (pattern != null && covers(pattern.apiVersions()) && v instanceof String s
          && !java.util.regex.Pattern.compile(pattern.value()).matcher(s).find()) {
        problems.add(at + ": '" + s + "' does not match " + pattern.value());
      }
      walk(v, at, problems, seen);
    }
  }

  /** Whether an annotation's versions ("all", "v1", "v1beta2+", "v1beta1-v1beta2") include {@link #VERSION}. */
  static boolean covers(String versions) {
    for (String part : versions.split(",")) {
      String r = part.trim();
      if (r.equals("all")) return true;
      int v = ORDER.indexOf(VERSION);
      if (r.endsWith("+")) {
        if (rank(r.substring(0, r.length() - 1)) <= v) return true;
      } else if (r.contains("-")) {
        String[] lh = r.split("-", 2);
        if (rank(lh[0]) <= v && v <= rank(lh[1])) return true;
      } else if (rank(r) == v) {
        return true;
      }
    }
    return false;
  }

  private static int rank(String version) {
    int i = ORDER.indexOf(version);
    if (i < 0) throw new IllegalStateException("an API version this check does not know: " + version);
    return i;
  }
}
