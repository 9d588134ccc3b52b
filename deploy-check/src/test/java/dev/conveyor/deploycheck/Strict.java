package dev.conveyor.deploycheck;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Reads a manifest's tree into a typed model the way the API server's strict field validation reads
 * it into the kind's schema: a field the model does not have, a number or boolean where the schema
 * has a string (or a string where it has a number), or a value of the wrong shape is an error.
 *
 * <p>Both fabric8's generated classes and Strimzi's ({@code UnknownPropertyPreserving}) keep unknown
 * fields in an {@code additionalProperties} map through {@code @JsonAnySetter}; Jackson's
 * {@code FAIL_ON_UNKNOWN_PROPERTIES} never sees them while an any-setter exists, so this mapper
 * ignores any-setters (and {@code ignoreUnknown}), and unknown fields fail.
 */
final class Strict {
  static final ObjectMapper MAPPER = mapper();

  private Strict() {}

  private static ObjectMapper mapper() {
    ObjectMapper m = JsonMapper.builder()
        .annotationIntrospector(new JacksonAnnotationIntrospector() {
          @Override
          public Boolean hasAnySetter(Annotated a) {
            return null;
          }

          @Override
          public JsonIgnoreProperties.Value findPropertyIgnoralByName(MapperConfig<?> config, Annotated a) {
            return super.findPropertyIgnoralByName(config, a).withoutIgnoreUnknown();
          }
        })
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_IGNORED_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
        .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
        .disable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .build();
    for (CoercionInputShape scalar : List.of(CoercionInputShape.Integer, CoercionInputShape.Float, CoercionInputShape.Boolean)) {
      m.coercionConfigFor(LogicalType.Textual).setCoercion(scalar, CoercionAction.Fail);
    }
    return m;
  }

  /** The object, or throws {@link JsonMappingException} naming the field's path. */
  static <T> T read(JsonNode node, Class<T> type) throws JsonMappingException {
    try {
      return MAPPER.treeToValue(node, type);
    } catch (JsonMappingException e) {
      throw e;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw JsonMappingException.from((com.fasterxml.jackson.core.JsonParser) null, e.getOriginalMessage(), e);
    }
  }

  /**
   * What of {@code in} (the manifest) the typed object {@code o} does not say back when written out
   * again: a value a lenient enum creator turned into null, one normalized (another case), a field
   * dropped. A value missing from the output is fine only where it is a default the model leaves out
   * (false, 0, empty).
   */
  static List<String> lost(JsonNode in, Object o) {
    List<String> out = new java.util.ArrayList<>();
    lost(in, MAPPER.valueToTree(o), "", out);
    return out;
  }

  private static void lost(JsonNode in, JsonNode out, String path, List<String> problems) {
    if (in.isObject()) {
      if (!out.isObject()) {
        problems.add(path + ": read as " + out.getNodeType());
        return;
      }
      in.properties().forEach(e -> {
        String at = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        JsonNode o = out.get(e.getKey());
        if (o == null || o.isNull()) {
          if (!isDefault(e.getValue())) problems.add(at + ": " + e.getValue() + " was dropped (read as nothing)");
        } else {
          lost(e.getValue(), o, at, problems);
        }
      });
    } else if (in.isArray()) {
      if (!out.isArray() || out.size() != in.size()) {
        problems.add(path + ": " + in + " read as " + out);
        return;
      }
      for (int i = 0; i < in.size(); i++) lost(in.get(i), out.get(i), path + "[" + i + "]", problems);
    } else if (in.isNumber() && out.isNumber() ? in.decimalValue().compareTo(out.decimalValue()) != 0 : !in.equals(out)) {
      problems.add(path + ": " + in + " read as " + out);
    }
  }

  private static boolean isDefault(JsonNode v) {
    return v.isNull() || v.isBoolean() && !v.booleanValue() || v.isNumber() && v.decimalValue().signum() == 0
        || v.isContainerNode() && v.isEmpty();
  }

  /** {@code spec.kafka.listeners[0].tls: <Jackson's first line>}. */
  static String describe(JsonMappingException e) {
    String path = e.getPath().stream()
        .map(r -> r.getFieldName() != null ? "." + r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining()).replaceFirst("^\\.", "");
    String msg = e.getOriginalMessage();
    int nl = msg.indexOf('\n');
    return (path.isEmpty() ? "" : path + ": ") + (nl < 0 ? msg : msg.substring(0, nl));
  }
}
