package dev.conveyor.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.conveyor.engine.config.ConveyorConfig.ApiKey;
import dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import dev.conveyor.engine.config.ConveyorConfig.Dispatch;
import dev.conveyor.engine.config.ConveyorConfig.FunctionSpec;
import dev.conveyor.engine.config.ConveyorConfig.KafkaSettings;
import dev.conveyor.engine.config.ConveyorConfig.Knative;
import dev.conveyor.engine.config.ConveyorConfig.Limits;
import dev.conveyor.engine.config.ConveyorConfig.Metering;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.config.ConveyorConfig.Samples;
import dev.conveyor.engine.config.ConveyorConfig.Server;
import dev.conveyor.engine.config.ConveyorConfig.StatusSettings;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads and validates the YAML config. Environment variables of SPEC §1 win over the file.
 * Any problem is one {@link ConfigException} naming the key.
 */
public final class ConfigLoader {
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private ConfigLoader() {}

  public static ConveyorConfig load(Path file, Map<String, String> env) {
    JsonNode root;
    try {
      root = YAML.readTree(Files.readString(file));
    } catch (IOException e) {
      throw new ConfigException(file.toString(), "cannot be read as YAML (" + firstLine(e) + ")");
    }
    return parse(root, env);
  }

  public static ConveyorConfig parse(String yaml, Map<String, String> env) {
    try {
      return parse(YAML.readTree(yaml), env);
    } catch (IOException e) {
      throw new ConfigException("(config)", "not valid YAML (" + firstLine(e) + ")");
    }
  }

  private static final Set<String> TOP_LEVEL = Set.of("server", "kafka", "tenants", "functions", "metering",
      "dispatch", "status", "samples", "knative", "auth", "leaderElection", "connectors");

  static ConveyorConfig parse(JsonNode rootNode, Map<String, String> env) {
    YamlNode root = new YamlNode("", rootNode);
    if (rootNode != null && rootNode.isObject()) {
      rootNode.fieldNames().forEachRemaining(f -> {
        if (!TOP_LEVEL.contains(f)) throw new ConfigException(f, "unknown key");
      });
    }

    YamlNode s = root.child("server");
    Server server = new Server(
        envPort(env, "CONVEYOR_HTTP_PORT", s.integer("port", 8080, 0, 65535)),
        envPort(env, "CONVEYOR_ADMIN_PORT", s.integer("adminPort", 9090, 0, 65535)),
        s.integer("maxRequestBytes", 6 * 1024 * 1024, 1024, 64 * 1024 * 1024),
        s.duration("drainDelay", Duration.ofSeconds(5)),
        s.duration("shutdownTimeout", Duration.ofSeconds(30)));
    s.rejectUnread();

    YamlNode k = root.child("kafka");
    String bootstrap = env.getOrDefault("KAFKA_BOOTSTRAP_SERVERS", k.string("bootstrapServers", ""));
    Map<String, String> clientProps = new LinkedHashMap<>();
    JsonNode props = k.rawChild("clientProperties");
    if (props != null) {
      if (!props.isObject()) throw new ConfigException("kafka.clientProperties", "expected a mapping");
      props.fields().forEachRemaining(e -> clientProps.put(e.getKey(), e.getValue().asText()));
    }
    KafkaSettings kafka = new KafkaSettings(
        bootstrap == null ? "" : bootstrap.trim(),
        k.string("topicPrefix", "conveyor."),
        k.integer("partitions", 6, 1, 1000),
        (short) k.integer("replicationFactor", bootstrap == null || bootstrap.isBlank() ? 1 : -1, -1, 10),
        k.duration("deliveryTimeout", Duration.ofSeconds(10)),
        k.integer("lingerMs", 0, 0, 1000),
        k.integer("backgroundLingerMs", 5, 0, 1000),
        Map.copyOf(clientProps));
    if (kafka.deliveryTimeout().toMillis() < 2000) {
      throw new ConfigException("kafka.deliveryTimeout", "must be at least PT2S");
    }
    if (!kafka.topicPrefix().matches("[A-Za-z0-9._-]*")) {
      throw new ConfigException("kafka.topicPrefix", "may contain only letters, digits, '.', '_' and '-'");
    }
    k.rejectUnread();

    List<Tenant> tenants = root.list("tenants", t -> tenant(t, env));
    if (tenants.isEmpty()) throw new ConfigException("tenants", "at least one tenant is required");
    Set<String> names = new HashSet<>();
    Set<String> hashes = new HashSet<>();
    for (int i = 0; i < tenants.size(); i++) {
      Tenant t = tenants.get(i);
      if (!names.add(t.name())) throw new ConfigException("tenants[" + i + "].name", "duplicate tenant '" + t.name() + "'");
      for (int j = 0; j < t.apiKeys().size(); j++) {
        if (!hashes.add(t.apiKeys().get(j).sha256())) {
          throw new ConfigException("tenants[" + i + "].apiKeys[" + j + "].sha256", "the same key is configured twice");
        }
      }
    }

    List<FunctionSpec> functions = root.list("functions", ConfigLoader::function);
    Set<String> fnKeys = new HashSet<>();
    for (int i = 0; i < functions.size(); i++) {
      FunctionSpec f = functions.get(i);
      if (!fnKeys.add(f.namespace() + "/" + f.name())) {
        throw new ConfigException("functions[" + i + "]", "duplicate function " + f.namespace() + "/" + f.name());
      }
    }

    YamlNode m = root.child("metering");
    ConveyorConfig.Forward forward = null;
    if (m.has("forward")) {
      YamlNode f = m.child("forward");
      String url = f.requiredString("url");
      java.net.URI u;
      try {
        u = java.net.URI.create(url);
      } catch (IllegalArgumentException e) {
        u = null;
      }
      if (u == null || u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
        throw new ConfigException(f.key("url"), "expected an absolute http(s) URL, such as https://openmeter.example/api/v1/events");
      }
      String tokenEnv = f.string("tokenEnv", null);
      String token = tokenEnv == null ? null : env.get(tokenEnv);
      if (tokenEnv != null && (token == null || token.isBlank())) {
        throw new ConfigException(f.key("tokenEnv"), "the environment variable " + tokenEnv + " is not set");
      }
      forward = new ConveyorConfig.Forward(u, f.integer("batchSize", 100, 1, 10_000), f.duration("timeout", Duration.ofSeconds(10)),
          f.duration("backoffMax", Duration.ofMinutes(1)), token);
      f.rejectUnread();
    }
    Metering metering = new Metering(
        m.string("source", "//conveyor/local"),
        m.integer("billingGranularityMs", 1, 1, 60_000),
        m.integer("dedupeDays", 7, 1, 3650),
        forward);
    m.rejectUnread();

    YamlNode d = root.child("dispatch");
    Dispatch dispatch = new Dispatch(
        d.bool("enabled", true),
        d.string("group", "conveyor-dispatch"),
        d.integer("maxInFlight", 512, 1, 100_000),
        d.integer("maxResultBytes", 1024 * 1024, 0, 4 * 1024 * 1024),
        postRetry(d.child("callbacks")),
        d.integer("maxWaiting", 2000, 1, 1_000_000),
        d.duration("runningStatusAfter", Duration.ofMillis(100)));
    d.rejectUnread();

    YamlNode st = root.child("status");
    StatusSettings status = new StatusSettings(
        // A quarter of the heap: the collector needs the rest as headroom (the drain benchmark's
        // 512 MB gateway spent a quarter of its CPU in GC with half of its heap held by the cache).
        st.number("cacheMaxBytes", Math.max(1024 * 1024, Runtime.getRuntime().maxMemory() / 4), 1024 * 1024, Long.MAX_VALUE),
        st.duration("idempotencyWindow", Duration.ofHours(24)),
        st.duration("retention", Duration.ofDays(7)));
    st.rejectUnread();

    YamlNode sm = root.child("samples");
    Samples samples = new Samples(sm.bool("enabled", false), sm.integer("port", 8081, 0, 65535));
    sm.rejectUnread();

    YamlNode kn = root.child("knative");
    String bundlePath = kn.string("trustBundle", null);
    String bundle = null;
    if (bundlePath != null) {
      try {
        bundle = java.nio.file.Files.readString(java.nio.file.Path.of(bundlePath));
      } catch (java.io.IOException | RuntimeException e) {
        throw new ConfigException(kn.key("trustBundle"), "cannot read the PEM file '" + bundlePath + "' (" + e.getClass().getSimpleName() + ")");
      }
      if (!bundle.contains("-----BEGIN CERTIFICATE-----")) {
        throw new ConfigException(kn.key("trustBundle"), "'" + bundlePath + "' holds no PEM certificate");
      }
    }
    Knative knative = new Knative(kn.bool("enabled", false), kn.strings("namespaces"), bundle);
    if (knative.enabled() && knative.namespaces().isEmpty()) {
      throw new ConfigException(kn.key("namespaces"), "list the namespaces whose Knative Services are functions");
    }
    kn.rejectUnread();

    YamlNode au = root.child("auth");
    ConveyorConfig.Auth auth = new ConveyorConfig.Auth(au.has("jwt") ? jwt(au.child("jwt")) : null);
    au.rejectUnread();

    YamlNode le = root.child("leaderElection");
    ConveyorConfig.LeaderElection election = new ConveyorConfig.LeaderElection(le.bool("enabled", false),
        le.string("namespace", "conveyor"), le.duration("leaseDuration", Duration.ofSeconds(15)),
        le.duration("renewDeadline", Duration.ofSeconds(10)), le.duration("retryPeriod", Duration.ofSeconds(2)));
    if (election.renewDeadline().compareTo(election.leaseDuration()) >= 0) {
      throw new ConfigException(le.key("renewDeadline"), "must be shorter than leaseDuration");
    }
    if (election.retryPeriod().compareTo(election.renewDeadline()) >= 0) {
      throw new ConfigException(le.key("retryPeriod"), "must be shorter than renewDeadline");
    }
    le.rejectUnread();

    JsonNode connectors = root.rawChild("connectors");
    root.rejectUnread();
    return new ConveyorConfig(server, kafka, List.copyOf(tenants), List.copyOf(functions), metering,
        dispatch, status, samples, knative, auth, election, connectors);
  }

  private static final Set<String> JWT_ALGORITHMS = Set.of("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256");

  private static ConveyorConfig.Jwt jwt(YamlNode j) {
    String jwks = j.has("jwksUrl") ? j.url("jwksUrl").toString() : null;
    List<ConveyorConfig.PublicKey> keys = j.list("publicKeys", k -> {
      String alg = k.string("algorithm", "RS256");
      if (!JWT_ALGORITHMS.contains(alg)) {
        throw new ConfigException(k.key("algorithm"), "expected one of " + new java.util.TreeSet<>(JWT_ALGORITHMS));
      }
      String pem = k.requiredString("pem");
      if (!pem.contains("-----BEGIN PUBLIC KEY-----")) {
        throw new ConfigException(k.key("pem"), "expected a PEM public key (-----BEGIN PUBLIC KEY-----)");
      }
      return new ConveyorConfig.PublicKey(alg, pem);
    });
    ConveyorConfig.Jwt jwt = new ConveyorConfig.Jwt(j.requiredString("issuer"), j.requiredString("audience"), jwks,
        List.copyOf(keys), j.string("tenantClaim", "tenant"), j.string("rolesClaim", "roles"),
        j.duration("jwksRefresh", Duration.ofMinutes(5)));
    j.rejectUnread();
    if (jwks == null && keys.isEmpty()) throw new ConfigException(j.key("publicKeys"), "give publicKeys or a jwksUrl");
    return jwt;
  }

  private static ConveyorConfig.PostRetry postRetry(YamlNode c) {
    ConveyorConfig.PostRetry r = new ConveyorConfig.PostRetry(
        c.integer("maxTries", 16, 1, 100),
        c.duration("backoffDelay", Duration.ofMillis(500)),
        c.duration("backoffMax", Duration.ofHours(1)));
    c.rejectUnread();
    if (r.backoffDelay().isZero() || r.backoffDelay().isNegative()) {
      throw new ConfigException(c.key("backoffDelay"), "must be positive");
    }
    if (r.backoffMax().compareTo(r.backoffDelay()) < 0) {
      throw new ConfigException(c.key("backoffMax"), "must not be shorter than backoffDelay");
    }
    return r;
  }

  private static String firstLine(Exception e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
  }

  private static int envPort(Map<String, String> env, String name, int dflt) {
    String v = env.get(name);
    if (v == null || v.isBlank()) return dflt;
    try {
      int p = Integer.parseInt(v.trim());
      if (p < 0 || p > 65535) throw new NumberFormatException();
      return p;
    } catch (NumberFormatException e) {
      throw new ConfigException(name, "expected a port number, got '" + v + "'");
    }
  }

  private static Tenant tenant(YamlNode t, Map<String, String> env) {
    String name = t.requiredString("name");
    checkName(t.key("name"), name);
    List<String> namespaces = t.strings("namespaces");
    if (namespaces.isEmpty()) throw new ConfigException(t.key("namespaces"), "at least one namespace is required");
    for (String ns : namespaces) checkName(t.key("namespaces"), ns);
    List<ApiKey> keys = t.list("apiKeys", ConfigLoader::apiKey);
    YamlNode l = t.child("limits");
    Limits limits = new Limits(
        l.integer("maxConcurrency", 50, 1, 1_000_000),
        l.integer("ratePerSecond", 500, 1, 10_000_000),
        l.integer("burst", 1000, 1, 10_000_000),
        l.number("maxQueued", 100_000, 1, Long.MAX_VALUE),
        l.integer("maxPayloadBytes", 1024 * 1024, 1, 6 * 1024 * 1024),
        l.integer("weight", 1, 1, 1000));
    l.rejectUnread();
    YamlNode cb = t.child("callbacks");
    List<String> allow = cb.strings("allow");
    for (int i = 0; i < allow.size(); i++) {
      String a = allow.get(i);
      // The host must be closed by a '/', or "https://hooks.example.com" would allow "https://hooks.example.com.evil.io".
      boolean http = a.startsWith("http://") || a.startsWith("https://");
      if (!http || a.indexOf('/', a.indexOf("://") + 3) < 0) {
        throw new ConfigException(cb.key("allow") + "[" + i + "]",
            "expected an http(s) URL prefix whose host ends with '/', such as https://hooks.example.com/");
      }
    }
    String secretEnv = cb.string("secretEnv", null);
    String secret = secretEnv != null ? env.get(secretEnv) : cb.string("secret", null);
    if (secretEnv != null && (secret == null || secret.isEmpty())) {
      throw new ConfigException(cb.key("secretEnv"), "the environment variable " + secretEnv + " is not set");
    }
    if (!allow.isEmpty() && (secret == null || secret.length() < 16)) {
      throw new ConfigException(cb.key("secret"), "callbacks need a signing secret of at least 16 characters (secret or secretEnv)");
    }
    cb.rejectUnread();
    Integer partition = t.has("partition") ? t.integer("partition", 0, 0, 100_000) : null;
    return new Tenant(name, List.copyOf(namespaces), List.copyOf(keys), limits, new ConveyorConfig.Callbacks(List.copyOf(allow), secret),
        partition);
  }

  private static ApiKey apiKey(YamlNode k) {
    String sha = k.requiredString("sha256").toLowerCase();
    if (!HEX64.matcher(sha).matches()) {
      throw new ConfigException(k.key("sha256"), "expected the 64 hex characters of the key's SHA-256 (echo -n KEY | sha256sum)");
    }
    Set<Role> roles = EnumSet.noneOf(Role.class);
    for (String r : k.strings("roles")) {
      try {
        roles.add(Role.valueOf(r));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(k.key("roles"), "unknown role '" + r + "' (invoke, read, usage, admin)");
      }
    }
    if (roles.isEmpty()) throw new ConfigException(k.key("roles"), "at least one role is required");
    return new ApiKey(sha, Set.copyOf(roles));
  }

  private static FunctionSpec function(YamlNode f) {
    String ns = f.requiredString("namespace");
    checkName(f.key("namespace"), ns);
    String name = f.requiredString("name");
    checkName(f.key("name"), name);
    FunctionSpec spec = new FunctionSpec(ns, name, f.url("url"),
        f.integer("memoryMiB", 128, 1, 1024 * 1024),
        f.integer("concurrency", 100, 1, 1_000_000),
        delivery(f.child("delivery")),
        breaker(f.child("circuitBreaker")));
    return spec;
  }

  private static ConveyorConfig.BreakerSpec breaker(YamlNode b) {
    ConveyorConfig.BreakerSpec spec = new ConveyorConfig.BreakerSpec(
        b.integer("failureRateThreshold", 50, 1, 100),
        b.integer("minimumCalls", 20, 1, 100_000),
        b.duration("openFor", Duration.ofSeconds(30)));
    if (spec.openFor().isZero()) throw new ConfigException(b.key("openFor"), "must be positive");
    b.rejectUnread();
    return spec;
  }

  private static Delivery delivery(YamlNode d) {
    BackoffPolicy policy;
    String p = d.string("backoffPolicy", "exponential");
    try {
      policy = BackoffPolicy.valueOf(p);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(d.key("backoffPolicy"), "expected exponential or linear, got '" + p + "'");
    }
    Set<Integer> retryOn = new LinkedHashSet<>();
    List<String> codes = d.has("retryOnStatus") ? d.strings("retryOnStatus") : List.of("408", "429", "500", "502", "503", "504");
    for (String c : codes) {
      try {
        int code = Integer.parseInt(c);
        if (code < 100 || code > 599) throw new NumberFormatException();
        retryOn.add(code);
      } catch (NumberFormatException e) {
        throw new ConfigException(d.key("retryOnStatus"), "expected HTTP status codes, got '" + c + "'");
      }
    }
    String dlq = null;
    if (d.has("deadLetter")) {
      YamlNode dl = d.child("deadLetter");
      dlq = dl.string("topic", null);
      dl.rejectUnread();
    }
    Delivery delivery = new Delivery(
        d.integer("retry", 2, 0, 100),
        policy,
        d.duration("backoffDelay", Duration.ofSeconds(1)),
        d.duration("backoffMax", Duration.ofMinutes(5)),
        d.duration("maxEventAge", Duration.ofHours(6)),
        d.duration("timeout", Duration.ofSeconds(30)),
        d.integer("platformRetries", 10, 0, 1000),
        Set.copyOf(retryOn),
        dlq,
        destination(d, "onSuccess"),
        destination(d, "onFailure"));
    if (delivery.timeout().isZero()) throw new ConfigException(d.key("timeout"), "must be positive");
    d.rejectUnread();
    return delivery;
  }

  private static ConveyorConfig.Destination destination(YamlNode d, String name) {
    if (!d.has(name)) return null;
    YamlNode n = d.child(name);
    String url = n.has("url") ? n.url("url").toString() : null;
    String topic = n.string("topic", null);
    n.rejectUnread();
    if ((url == null) == (topic == null)) throw new ConfigException(d.key(name), "give exactly one of url or topic");
    return new ConveyorConfig.Destination(url, topic);
  }

  static void checkName(String key, String value) {
    if (!NAME.matcher(value).matches()) {
      throw new ConfigException(key, "'" + value + "' is not a valid name (lower-case letters, digits and '-', at most 63)");
    }
  }

  /** The delivery policy of a function that has no {@code delivery:} block. */
  public static ConveyorConfig.BreakerSpec defaultBreaker() {
    return breaker(new YamlNode("circuitBreaker", null));
  }

  public static Delivery defaultDelivery() {
    return delivery(new YamlNode("delivery", null));
  }

  /**
   * A delivery policy from a mapping that did not come from the config file (a Knative Service's
   * {@code conveyor.dev/*} annotations); errors name {@code path} and the key.
   *
   * @throws ConfigException when a value is invalid or a key unknown
   */
  public static Delivery delivery(String path, JsonNode mapping) {
    return delivery(new YamlNode(path, mapping));
  }
}
