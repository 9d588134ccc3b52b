package dev.conveyor.engine.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
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
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.fasterxml.jackson.databind.type.LogicalType;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Path;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.hibernate.validator.messageinterpolation.ParameterMessageInterpolator;

/**
 * Binds the YAML config onto the {@link ConveyorConfig} records (Jackson) and checks them (Bean
 * Validation, then the few rules that span keys). Strict: unknown keys, a string where a number or
 * true/false is expected (and the reverse), fractions for whole numbers and durations that are not
 * ISO-8601 are refused. Keys the file leaves out take the record's {@code DEFAULTS}. The environment
 * wins over the file: {@code CONVEYOR_HTTP_PORT}, {@code CONVEYOR_ADMIN_PORT}, {@code KAFKA_BOOTSTRAP_SERVERS},
 * and a {@code secretEnv}/{@code tokenEnv} key stands for {@code secret}/{@code token} read from the
 * variable it names. Any problem is one {@link ConfigException} naming the key's path.
 */
public final class ConfigLoader {
  static final ObjectMapper YAML = YAMLMapper.builder()
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS,
          DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .addModule(new SimpleModule().addSerializer(Duration.class, ToStringSerializer.instance)
          .addDeserializer(Duration.class, new IsoDuration()))
      .withCoercionConfig(LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, CoercionAction.Fail).setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
      .withCoercionConfig(LogicalType.Boolean, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail))
      .build();
  private static final Validator VALIDATOR = Validation.byDefaultProvider().configure()
      .messageInterpolator(new ParameterMessageInterpolator()).buildValidatorFactory().getValidator();

  private ConfigLoader() {}

  public static ConveyorConfig load(java.nio.file.Path file, Map<String, String> env) {
    try {
      return parse(YAML.readTree(Files.readString(file)), env);
    } catch (IOException e) {
      throw new ConfigException(file.toString(), "cannot be read as YAML (" + firstLine(e) + ")");
    }
  }

  public static ConveyorConfig parse(String yaml, Map<String, String> env) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (IOException e) {
      throw new ConfigException("(config)", "not valid YAML (" + firstLine(e) + ")");
    }
    return parse(root, env);
  }

  private static ConveyorConfig parse(JsonNode rootNode, Map<String, String> env) {
    ObjectNode root = rootNode == null || rootNode.isMissingNode() || rootNode.isNull() ? YAML.createObjectNode()
        : mapping(rootNode, "(root)");
    ObjectNode server = child(root, "server");
    envPort(env, "CONVEYOR_HTTP_PORT").ifPresent(p -> server.put("port", p));
    envPort(env, "CONVEYOR_ADMIN_PORT").ifPresent(p -> server.put("adminPort", p));
    ObjectNode kafka = child(root, "kafka");
    if (env.containsKey("KAFKA_BOOTSTRAP_SERVERS")) kafka.put("bootstrapServers", env.get("KAFKA_BOOTSTRAP_SERVERS"));
    if (!kafka.hasNonNull("replicationFactor")) {
      JsonNode bootstrap = kafka.path("bootstrapServers");
      kafka.put("replicationFactor", bootstrap.isTextual() && !bootstrap.asText().isBlank() ? -1 : 1);
    }
    for (String section : List.of("tenants", "metering")) secretsFromEnv(root.get(section), section, env);
    ConveyorConfig c = bind(root, ConveyorConfig.class, "");

    Set<String> names = new HashSet<>();
    Set<String> hashes = new HashSet<>();
    Map<String, String> owners = new HashMap<>();
    for (int i = 0; i < c.tenants().size(); i++) {
      Tenant t = c.tenants().get(i);
      String at = "tenants[" + i + "]";
      check(names.add(t.name()), at + ".name", "duplicate tenant '" + t.name() + "'");
      for (int j = 0; j < t.apiKeys().size(); j++) {
        check(hashes.add(t.apiKeys().get(j).sha256()), at + ".apiKeys[" + j + "].sha256", "the same key is configured twice");
      }
      for (int j = 0; j < t.namespaces().size(); j++) {
        String ns = t.namespaces().get(j);
        String owner = owners.putIfAbsent(ns, t.name());
        check(owner == null || owner.equals(t.name()), at + ".namespaces[" + j + "]",
            "namespace '" + ns + "' is claimed by tenants '" + owner + "' and '" + t.name() + "'; a namespace has one tenant");
      }
      var cb = t.callbacks();
      check(cb.allow().isEmpty() || cb.secret() != null && cb.secret().length() >= 16, at + ".callbacks.secret",
          "callbacks need a signing secret of at least 16 characters (secret or secretEnv)");
    }
    Set<String> functions = new HashSet<>();
    for (int i = 0; i < c.functions().size(); i++) {
      var f = c.functions().get(i);
      check(functions.add(f.namespace() + "/" + f.name()), "functions[" + i + "]", "duplicate function " + f.namespace() + "/" + f.name());
      checkDelivery("functions[" + i + "].delivery.", f.delivery());
    }
    var retry = c.dispatch().callbacks();
    check(retry.backoffMax().compareTo(retry.backoffDelay()) >= 0, "dispatch.callbacks.backoffMax", "must not be shorter than backoffDelay");
    var jwt = c.auth().jwt();
    check(jwt == null || jwt.jwksUrl() != null || !jwt.publicKeys().isEmpty(), "auth.jwt.publicKeys", "give publicKeys or a jwksUrl");
    var le = c.leaderElection();
    check(le.renewDeadline().compareTo(le.leaseDuration()) < 0, "leaderElection.renewDeadline", "must be shorter than leaseDuration");
    check(le.retryPeriod().compareTo(le.renewDeadline()) < 0, "leaderElection.retryPeriod", "must be shorter than renewDeadline");
    var kn = c.knative();
    check(!kn.enabled() || !kn.namespaces().isEmpty(), "knative.namespaces", "list the namespaces whose Knative Services are functions");
    if (kn.trustBundle() == null) return c;
    String bundle;
    try {
      bundle = Files.readString(java.nio.file.Path.of(kn.trustBundle()));
    } catch (IOException | RuntimeException e) {
      throw new ConfigException("knative.trustBundle", "cannot read the PEM file '" + kn.trustBundle() + "' (" + e.getClass().getSimpleName() + ")");
    }
    check(bundle.contains("-----BEGIN CERTIFICATE-----"), "knative.trustBundle", "'" + kn.trustBundle() + "' holds no PEM certificate");
    return new ConveyorConfig(c.server(), c.kafka(), c.tenants(), c.functions(), c.metering(), c.dispatch(), c.status(), c.samples(),
        new ConveyorConfig.Knative(kn.enabled(), kn.namespaces(), bundle), c.auth(), c.leaderElection(), c.connectors());
  }

  /** The delivery policy of a function that has no {@code delivery:} block. */
  public static Delivery defaultDelivery() {
    return Delivery.DEFAULTS;
  }

  public static BreakerSpec defaultBreaker() {
    return BreakerSpec.DEFAULTS;
  }

  /**
   * A delivery policy from a mapping that did not come from the config file (a Knative Service's
   * {@code conveyor.dev/*} annotations), bound and checked as the file's; errors start with {@code prefix}.
   *
   * @throws ConfigException when a value is invalid or a key unknown
   */
  public static Delivery delivery(String prefix, JsonNode mapping) {
    Delivery d = bind(mapping == null ? YAML.createObjectNode() : mapping(mapping, prefix), Delivery.class, prefix);
    checkDelivery(prefix, d);
    return d;
  }

  private static void checkDelivery(String prefix, Delivery d) {
    check(d.onSuccess() == null || (d.onSuccess().url() == null) != (d.onSuccess().topic() == null), prefix + "onSuccess",
        "give exactly one of url or topic");
    check(d.onFailure() == null || (d.onFailure().url() == null) != (d.onFailure().topic() == null), prefix + "onFailure",
        "give exactly one of url or topic");
  }

  /**
   * Fills in the defaults (the record's {@code DEFAULTS}), binds {@code node} onto {@code type} and validates
   * it; errors name {@code prefix} + the key's path.
   */
  public static <T extends Record> T bind(ObjectNode node, Class<T> type, String prefix) {
    fillDefaults(node, type);
    T value;
    try {
      value = YAML.treeToValue(node, type);
    } catch (JsonMappingException e) {
      throw new ConfigException(key(prefix, path(e.getPath())), problem(e));
    } catch (JsonProcessingException e) {
      throw new ConfigException(key(prefix, ""), firstLine(e));
    }
    VALIDATOR.validate(value).stream().min(Comparator.comparing(v -> path(v.getPropertyPath()))).ifPresent(v -> {
      throw new ConfigException(key(prefix, path(v.getPropertyPath())), v.getMessage() + got(v));
    });
    return value;
  }

  /** Sets every key of {@code type} that {@code node} lacks (or has as null) to the record's default, into nested records too. */
  private static void fillDefaults(ObjectNode node, Class<?> type) {
    JsonNode defaults;
    try {
      var field = type.getDeclaredField("DEFAULTS");
      field.setAccessible(true);
      defaults = YAML.valueToTree(field.get(null));
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(type + " has no DEFAULTS", e);
    }
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
  static Class<?> elementType(Type t) {
    return t instanceof ParameterizedType p && Collection.class.isAssignableFrom((Class<?>) p.getRawType())
        && p.getActualTypeArguments()[0] instanceof Class<?> c ? c : null;
  }

  /** Replaces each {@code xEnv: NAME} under {@code node} with {@code x:} the variable's value. */
  private static void secretsFromEnv(JsonNode node, String at, Map<String, String> env) {
    if (node instanceof ObjectNode o) {
      for (String key : List.copyOf(iterable(o.fieldNames()))) {
        JsonNode v = o.get(key);
        if (key.endsWith("Env") && v.isTextual()) {
          String value = env.get(v.asText());
          check(value != null && !value.isBlank(), at + "." + key, "the environment variable " + v.asText() + " is not set");
          o.remove(key);
          o.set(key.substring(0, key.length() - 3), TextNode.valueOf(value));
        } else {
          secretsFromEnv(v, at + "." + key, env);
        }
      }
    } else if (node != null && node.isArray()) {
      for (int i = 0; i < node.size(); i++) secretsFromEnv(node.get(i), at + "[" + i + "]", env);
    }
  }

  private static <T> List<T> iterable(java.util.Iterator<T> it) {
    List<T> out = new ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  private static ObjectNode mapping(JsonNode node, String at) {
    if (node instanceof ObjectNode o) return o;
    throw new ConfigException(at, "expected a mapping");
  }

  private static ObjectNode child(ObjectNode parent, String name) {
    JsonNode v = parent.get(name);
    return v == null || v.isNull() ? parent.putObject(name) : mapping(v, name);
  }

  private static java.util.Optional<Integer> envPort(Map<String, String> env, String name) {
    String v = env.get(name);
    if (v == null || v.isBlank()) return java.util.Optional.empty();
    try {
      int p = Integer.parseInt(v.trim());
      if (p >= 0 && p <= 65535) return java.util.Optional.of(p);
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new ConfigException(name, "expected a port number, got '" + v + "'");
  }

  private static String key(String prefix, String path) {
    return prefix.isEmpty() && path.isEmpty() ? "(config)" : prefix + path;
  }

  static void check(boolean ok, String key, String problem) {
    if (!ok) throw new ConfigException(key, problem);
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
    return firstLine(e);
  }

  private static String gotToken(JsonMappingException e) {
    try {
      return e.getProcessor() instanceof JsonParser p && p.currentToken() != null && p.currentToken().isScalarValue()
          ? ", got '" + p.getText() + "'" : "";
    } catch (IOException | RuntimeException x) {
      return "";
    }
  }

  private static String firstLine(Exception e) {
    String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
    return m == null ? e.getClass().getSimpleName() : m.lines().findFirst().orElse("");
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

  /** Map values (Kafka client properties) as text, whichever scalar the YAML wrote. */
  static final class ScalarText extends JsonDeserializer<String> {
    @Override
    public String deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (!p.currentToken().isScalarValue()) throw new Refused(p, "expected a string, a number or true/false");
      return p.getText();
    }
  }
}
