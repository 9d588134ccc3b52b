package dev.conveyor.engine.config;

import static dev.conveyor.config.ConfigBinder.YAML;
import static dev.conveyor.config.ConfigBinder.bind;
import static dev.conveyor.config.ConfigBinder.reason;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.conveyor.config.ConfigBinder;
import dev.conveyor.config.ConfigException;
import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.spi.TriggerConnector;
import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads the YAML config onto the {@link ConveyorConfig} records with the {@link ConfigBinder} (strict:
 * unknown keys, a string where a number or true/false is expected (and the reverse), fractions for
 * whole numbers and durations that are not ISO-8601 are refused; keys the file leaves out take the
 * record's {@code DEFAULTS}), then checks the few rules that span keys, and binds each entry under
 * {@code connectors:} onto its connector's config record the same way. The environment wins over the
 * file: {@code CONVEYOR_HTTP_PORT}, {@code CONVEYOR_ADMIN_PORT}, {@code CONVEYOR_WARMUP} ({@code server.warmUp}),
 * {@code KAFKA_BOOTSTRAP_SERVERS}, and a
 * {@code secretEnv}/{@code tokenEnv} key stands for {@code secret}/{@code token} read from the variable
 * it names. Any problem is one {@link ConfigException} naming the key's path.
 */
public final class ConfigLoader {
  private ConfigLoader() {}

  public static ConveyorConfig load(java.nio.file.Path file, Map<String, String> env) {
    try {
      return parse(YAML.readTree(Files.readString(file)), env);
    } catch (IOException e) {
      throw new ConfigException(file.toString(), "cannot be read as YAML (" + reason(e) + ")");
    }
  }

  public static ConveyorConfig parse(String yaml, Map<String, String> env) {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (IOException e) {
      throw new ConfigException("(config)", "not valid YAML (" + reason(e) + ")");
    }
    return parse(root, env);
  }

  private static boolean embedded(ObjectNode kafka) {
    JsonNode bootstrap = kafka.path("bootstrapServers");
    return !(bootstrap.isTextual() && !bootstrap.asText().isBlank());
  }

  private static ConveyorConfig parse(JsonNode rootNode, Map<String, String> env) {
    ObjectNode root = rootNode == null || rootNode.isMissingNode() || rootNode.isNull() ? YAML.createObjectNode()
        : mapping(rootNode, "(root)");
    ObjectNode server = child(root, "server");
    envPort(env, "CONVEYOR_HTTP_PORT").ifPresent(p -> server.put("port", p));
    envPort(env, "CONVEYOR_ADMIN_PORT").ifPresent(p -> server.put("adminPort", p));
    ObjectNode kafka = child(root, "kafka");
    if (env.containsKey("KAFKA_BOOTSTRAP_SERVERS")) kafka.put("bootstrapServers", env.get("KAFKA_BOOTSTRAP_SERVERS"));
    if (env.containsKey("CONVEYOR_WARMUP")) server.put("warmUp", env.get("CONVEYOR_WARMUP"));
    // The embedded broker is for trying things out: ready at once (no warm-up), stopped at once (no
    // load balancer to tell first), unless the file or the environment says otherwise.
    for (String key : List.of("warmUp", "drainDelay")) {
      if (!server.hasNonNull(key) && embedded(kafka)) server.put(key, "PT0S");
    }
    if (!kafka.hasNonNull("replicationFactor")) kafka.put("replicationFactor", embedded(kafka) ? 1 : -1);
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
      check(t.limits().lanes() <= t.limits().maxConcurrency(), at + ".limits.lanes",
          "at most maxConcurrency (" + t.limits().maxConcurrency() + "): every lane needs at least one slot of it");
      check(t.limits().maxMemoryInFlightMiB() == 0 || t.limits().maxMemoryInFlightMiB() >= t.limits().lanes(),
          at + ".limits.maxMemoryInFlightMiB", "at least lanes (" + t.limits().lanes() + "): every lane needs a share of it");
      for (int j = 0; j < t.limits().budgets().size(); j++) {
        var b = t.limits().budgets().get(j);
        check(b.gibSeconds() != null || b.invocations() != null, at + ".limits.budgets[" + j + "]",
            "give gibSeconds, invocations or both: what the budget limits");
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
      var owner = c.tenant(owners.getOrDefault(f.namespace(), ""));
      if (owner.isPresent()) {
        long room = memoryPerLane(owner.get().limits());
        check(f.memoryMiB() <= room, "functions[" + i + "].memoryMiB", "tenant '" + owner.get().name() + "' lets one attempt hold at most "
            + room + " MiB (limits.maxMemoryInFlightMiB over its lanes); raise that limit, or lower memoryMiB");
      }
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
    connectors(c.connectors());
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

  /**
   * The most memory one attempt of the tenant may hold: its {@code maxMemoryInFlightMiB} split over its
   * lanes (each lane's owner keeps to its share), rounded down; unbounded without a memory limit.
   */
  public static long memoryPerLane(ConveyorConfig.Limits limits) {
    return limits.maxMemoryInFlightMiB() == 0 ? Long.MAX_VALUE : limits.maxMemoryInFlightMiB() / limits.lanes();
  }

  /**
   * The entries under {@code connectors:} (but the built-in {@code type: cloudevents}), each bound as the
   * file is onto the config record of the {@link ConnectorFactory} of its {@code type}: its keys besides
   * {@code type} and {@code name}; errors name {@code connectors[i].} and the key.
   *
   * @throws ConfigException when an entry has no type or name, no connector has its type, or a key is bad
   */
  public static List<Connector<?>> connectors(JsonNode entries) {
    List<Connector<?>> out = new ArrayList<>();
    if (entries == null || entries.isNull()) return out;
    check(entries.isArray(), "connectors", "expected a list");
    for (int i = 0; i < entries.size(); i++) {
      String at = "connectors[" + i + "]";
      ObjectNode keys = mapping(entries.get(i), at).deepCopy();
      JsonNode type = keys.remove("type");
      JsonNode name = keys.remove("name");
      check(type != null && type.isTextual() && name != null && name.isTextual() && !name.asText().isBlank(), at,
          "every connector needs a type and a name");
      if (type.asText().equals("cloudevents")) continue; // built in: the API's /events route (CloudEventsIngress)
      ConnectorFactory<?> f = Factories.BY_TYPE.get(type.asText());
      check(f != null, at + ".type", "no connector of type '" + type.asText() + "' (known: " + Factories.BY_TYPE.keySet() + ")");
      out.add(Connector.of(f, name.asText(), keys, at));
    }
    return out;
  }

  /** An entry under {@code connectors:} bound onto its factory's config record; {@code key}: {@code connectors[i]}. */
  public record Connector<C extends Record>(String key, String name, ConnectorFactory<C> factory, C config) {
    static <C extends Record> Connector<C> of(ConnectorFactory<C> f, String name, ObjectNode keys, String key) {
      return new Connector<>(key, name, f, ConfigBinder.bind(keys, f.configType(), key + "."));
    }

    /** @throws ConfigException naming the entry when the factory refuses it */
    public TriggerConnector create() {
      try {
        return factory.create(name, config);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(key, e.getMessage());
      }
    }
  }

  /** The connector factories on the class path ({@link ServiceLoader}), by type. */
  private static final class Factories {
    static final Map<String, ConnectorFactory<?>> BY_TYPE = new TreeMap<>();

    static {
      for (ConnectorFactory<?> f : ServiceLoader.load(ConnectorFactory.class)) BY_TYPE.put(f.type(), f);
    }
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

  static void check(boolean ok, String key, String problem) {
    if (!ok) throw new ConfigException(key, problem);
  }
}
