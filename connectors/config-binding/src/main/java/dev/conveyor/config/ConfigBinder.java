package dev.conveyor.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Path;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.hibernate.validator.messageinterpolation.ParameterMessageInterpolator;

/**
 * Binds a mapping onto a config record (Jackson) and checks it (Bean Validation): the one binding of
 * the gateway's config file, of a Knative Service's {@code conveyor.dev/*} annotations and of the
 * entries under {@code connectors:}. Strict: unknown keys, a string where a number or true/false is
 * expected (and the reverse), fractions for whole numbers and durations that are not ISO-8601 (or are
 * negative) are refused; a {@code Map<String, String>} takes any scalar as text. A key the mapping
 * leaves out (or sets to null) takes the value in the record's {@code static final DEFAULTS}, in
 * nested records too. Any problem is one {@link ConfigException} naming the key's path
 * ({@code tenants[0].apiKeys[1].sha256: ...}).
 *
 * <p>A config record needs nothing but the Bean Validation API and, where a key is not the component's
 * name, Jackson's annotations: this module is the gateway's (and the connector test kit's), not theirs.
 */
public final class ConfigBinder {
  /** The mapper the config is read and bound with. */
  public static final ObjectMapper YAML = YAMLMapper.builder()
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS,
          DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .addModule(new SimpleModule().addSerializer(Duration.class, ToStringSerializer.instance)
          .addDeserializer(Duration.class, new IsoDuration()))
      .annotationIntrospector(new TextMapValues())
      .withCoercionConfig(LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, CoercionAction.Fail).setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
      .withCoercionConfig(LogicalType.Boolean, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail))
      .build();
  private static final Validator VALIDATOR = Validation.byDefaultProvider().configure()
      .messageInterpolator(new ParameterMessageInterpolator()).buildValidatorFactory().getValidator();

  private ConfigBinder() {}

  /**
   * Fills in the defaults (the record's {@code DEFAULTS}), binds {@code node} onto {@code type} and validates
   * it; errors name {@code prefix} + the key's path.
   *
   * @throws ConfigException when a value is invalid or a key unknown
   */
  public static <T extends Record> T bind(ObjectNode node, Class<T> type, String prefix) {
    fillDefaults(node, type);
    T value;
    try {
      value = YAML.treeToValue(node, type);
    } catch (JsonMappingException e) {
      throw new ConfigException(key(prefix, path(e.getPath())), problem(e));
    } catch (JsonProcessingException e) {
      throw new ConfigException(key(prefix, ""), reason(e));
    }
    VALIDATOR.validate(value).stream().min(Comparator.comparing(v -> path(v.getPropertyPath()))).ifPresent(v -> {
      throw new ConfigException(key(prefix, path(v.getPropertyPath())), v.getMessage() + got(v));
    });
    return value;
  }

  /** The record's {@code DEFAULTS}: the value of each key a mapping leaves out. */
  public static <T extends Record> T defaults(Class<T> type) {
    try {
      var field = type.getDeclaredField("DEFAULTS");
      field.setAccessible(true);
      return type.cast(field.get(null));
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(type + " has no DEFAULTS", e);
    }
  }

  /** Sets every key of {@code type} that {@code node} lacks (or has as null) to the record's default, into nested records too. */
  @SuppressWarnings("unchecked")
  private static void fillDefaults(ObjectNode node, Class<?> type) {
    JsonNode defaults = YAML.valueToTree(defaults((Class<? extends Record>) type));
    for (RecordComponent rc : type.getRecordComponents()) {
      JsonNode v = node.get(rc.getName());
      Class<?> element = elementType(rc.getGenericType());
      if (v == null || v.isNull()) {
        node.set(rc.getName(), defaults.get(rc.getName()).deepCopy());
      } else if (rc.getType().isRecord() && v.isObject()) {
        fillDefaults((ObjectNode) v, rc.getType());
      } else if (element != null && element.isRecord() && v.isArray()) {
        v.forEach(e -> {
          if (e.isObject()) fillDefaults((ObjectNode) e, element);
        });
      }
    }
  }

  /** The element class of a {@code List<X>} or {@code Set<X>}, else null. */
  public static Class<?> elementType(Type t) {
    return t instanceof ParameterizedType p && Collection.class.isAssignableFrom((Class<?>) p.getRawType())
        && p.getActualTypeArguments()[0] instanceof Class<?> c ? c : null;
  }

  /** The first line of what went wrong, without Jackson's location details. */
  public static String reason(Exception e) {
    String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
    return m == null ? e.getClass().getSimpleName() : m.lines().findFirst().orElse("");
  }

  private static String key(String prefix, String path) {
    return prefix.isEmpty() && path.isEmpty() ? "(config)" : prefix + path;
  }

  private static String path(List<JsonMappingException.Reference> refs) {
    StringBuilder sb = new StringBuilder();
    for (var r : refs) {
      if (r.getFieldName() != null) sb.append(sb.isEmpty() ? "" : ".").append(r.getFieldName());
      else if (r.getIndex() >= 0) sb.append('[').append(r.getIndex()).append(']');
    }
    return sb.toString();
  }

  private static String path(Path p) {
    StringBuilder sb = new StringBuilder();
    for (Path.Node n : p) {
      if (n.isInIterable() && n.getIndex() != null) sb.append('[').append(n.getIndex()).append(']');
      else if (n.isInIterable() && n.getKey() != null) sb.append('.').append(n.getKey());
      if (n.getName() != null && !n.getName().startsWith("<")) sb.append(sb.isEmpty() ? "" : ".").append(n.getName());
    }
    return sb.toString();
  }

  private static String got(ConstraintViolation<?> v) {
    Object x = v.getInvalidValue();
    if (x instanceof Number || x instanceof Duration) return ", got " + x;
    return x instanceof String || x instanceof java.net.URI ? ", got '" + x + "'" : "";
  }

  private static String problem(JsonMappingException e) {
    if (e instanceof UnrecognizedPropertyException) return "unknown key";
    if (e instanceof Refused) return e.getOriginalMessage();
    String got = e instanceof InvalidFormatException f ? ", got '" + f.getValue() + "'" : gotToken(e);
    if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
      Class<?> t = m.getTargetType();
      if (t.isEnum()) return "expected one of " + Arrays.toString(t.getEnumConstants()) + got;
      if (t == int.class || t == Integer.class || t == long.class || t == Long.class || t == short.class || t == Short.class) {
        return "expected a whole number" + got;
      }
      if (t == boolean.class || t == Boolean.class) return "expected true or false" + got;
      if (t == String.class) return "expected a string" + got;
      if (Collection.class.isAssignableFrom(t)) return "expected a list" + got;
      if (t.isRecord() || Map.class.isAssignableFrom(t)) return "expected a mapping" + got;
      if (t == java.net.URI.class) return "expected an absolute http(s) URL" + got;
    }
    return reason(e);
  }

  private static String gotToken(JsonMappingException e) {
    try {
      return e.getProcessor() instanceof JsonParser p && p.currentToken() != null && p.currentToken().isScalarValue()
          ? ", got '" + p.getText() + "'" : "";
    } catch (IOException | RuntimeException x) {
      return "";
    }
  }

  /** A refusal whose message is already the one to show. */
  private static final class Refused extends JsonMappingException {
    Refused(JsonParser p, String message) {
      super(p, message);
    }
  }

  /** Durations as ISO-8601 text only ({@code PT30S}), never negative. */
  private static final class IsoDuration extends JsonDeserializer<Duration> {
    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String s = p.currentToken().isScalarValue() ? p.getText() : p.currentToken().asString();
      try {
        Duration d = p.currentToken() == JsonToken.VALUE_STRING ? Duration.parse(s) : null;
        if (d != null && d.isNegative()) throw new Refused(p, "must not be negative, got '" + s + "'");
        if (d != null) return d;
      } catch (DateTimeParseException e) {
        // refused below
      }
      throw new Refused(p, "expected an ISO-8601 duration such as PT30S, got '" + s + "'");
    }
  }

  /** The values of every {@code Map<String, String>} (Kafka client properties) as text, whichever scalar the YAML wrote. */
  private static final class TextMapValues extends JacksonAnnotationIntrospector {
    @Override
    public Object findContentDeserializer(Annotated a) {
      Object explicit = super.findContentDeserializer(a);
      JavaType t = a.getType();
      return explicit == null && t != null && t.isMapLikeType() && t.getKeyType().hasRawClass(String.class)
          && t.getContentType().hasRawClass(String.class) ? ScalarText.class : explicit;
    }
  }

  /** A scalar as its text. */
  static final class ScalarText extends JsonDeserializer<String> {
    @Override
    public String deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (!p.currentToken().isScalarValue()) throw new Refused(p, "expected a string, a number or true/false");
      return p.getText();
    }
  }
}
