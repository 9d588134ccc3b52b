package dev.conveyor.engine.knative;

import dev.conveyor.engine.time.Time;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.conveyor.config.ConfigBinder;
import dev.conveyor.config.ConfigException;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.functions.Serving;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Knative Services and Revisions of the configured namespaces, from fabric8 informers (a watch
 * each, never an API call per request). A Service is a function once its Route carries traffic to a
 * revision and it has a URL: {@code namespace/name} resolves to its cluster-local address (and
 * {@code name@tag} to a tagged route's URL), the revision(s) carrying its traffic, their
 * {@code actualReplicas}, {@code containerConcurrency}, {@code timeoutSeconds} and serving container's
 * memory, the CA of its cluster-local TLS, and the policy of its
 * {@code conveyor.dev/*} annotations (kebab-case keys of {@code delivery}, e.g.
 * {@code conveyor.dev/retry: "3"}, {@code conveyor.dev/backoff-delay: PT2S}, plus
 * {@code conveyor.dev/concurrency}). A Service whose annotations are invalid still resolves, with the
 * default policy, and the problem is logged once per change.
 */
public final class KnativeDiscovery implements FunctionRegistry.Source, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KnativeDiscovery.class);
  private static final String PREFIX = "conveyor.dev/";
  private static final YAMLMapper YAML = new YAMLMapper();
  private static final Pattern KEBAB = Pattern.compile("-([a-z])");
  private static final BreakerSpec DEFAULT_BREAKER = ConfigLoader.defaultBreaker();
  /** knative/serving's {@code config-defaults} {@code revision-timeout-seconds} default. */
  static final long DEFAULT_TIMEOUT_SECONDS = 300;
  static final int DEFAULT_MEMORY_MIB = 128;

  private final List<SharedIndexInformer<KnativeService>> services = new ArrayList<>();
  private final List<SharedIndexInformer<KnativeRevision>> revisions = new ArrayList<>();
  /** Parsed policy per Service, by resourceVersion: annotations are parsed once per change. */
  private final Map<String, Policy> policies = new ConcurrentHashMap<>();

  record Policy(String resourceVersion, Delivery delivery, int concurrency) {}

  private final List<CompletableFuture<Void>> starts = new ArrayList<>();
  /** When each revision ("ns/name") was last seen going from no ready replica to some: where a held cold start ended. */
  private final Map<String, Instant> readySince = new ConcurrentHashMap<>();

  /** Starts an informer per namespace and kind (no resync: the watch keeps the cache current). */
  public KnativeDiscovery(KubernetesClient client, List<String> namespaces, Time clock) {
    for (String ns : namespaces) {
      SharedIndexInformer<KnativeService> s = client.resources(KnativeService.class).inNamespace(ns).runnableInformer(0);
      SharedIndexInformer<KnativeRevision> r = client.resources(KnativeRevision.class).inNamespace(ns).runnableInformer(0);
      r.addEventHandler(new ResourceEventHandler<>() {
        @Override
        public void onAdd(KnativeRevision rev) {}

        @Override
        public void onUpdate(KnativeRevision before, KnativeRevision after) {
          if (replicas(before) == 0 && replicas(after) > 0) {
            readySince.put(Cache.metaNamespaceKeyFunc(after), clock.now());
          }
        }

        @Override
        public void onDelete(KnativeRevision rev, boolean unknownFinalState) {
          readySince.remove(Cache.metaNamespaceKeyFunc(rev));
        }
      });
      services.add(s);
      revisions.add(r);
      starts.add(s.start().toCompletableFuture());
      starts.add(r.start().toCompletableFuture());
    }
  }

  /** Completes once every informer has listed what exists (and is watching). */
  public CompletableFuture<Void> synced() {
    return CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new));
  }

  @Override
  public Optional<FunctionTarget> find(String namespace, String function) {
    int at = function.indexOf('@');
    String name = at < 0 ? function : function.substring(0, at);
    KnativeService svc = null;
    for (SharedIndexInformer<KnativeService> i : services) {
      svc = i.getStore().getByKey(Cache.namespaceKeyFunc(namespace, name));
      if (svc != null) break;
    }
    if (svc == null) return Optional.empty();
    Policy p = policy(svc);
    return resolve(namespace, function, svc, rev -> revision(namespace, rev),
        rev -> readySince.get(Cache.namespaceKeyFunc(namespace, rev)), p.delivery(), p.concurrency());
  }

  private KnativeRevision revision(String namespace, String name) {
    for (SharedIndexInformer<KnativeRevision> i : revisions) {
      KnativeRevision rev = i.getStore().getByKey(Cache.namespaceKeyFunc(namespace, name));
      if (rev != null) return rev;
    }
    return null;
  }

  /**
   * A Service (and {@code fn@tag}: its tagged route) as a target. The revisions are those the Route
   * sends traffic to ({@code status.traffic} entries with a percent above 0, or the tag's entry); before
   * the Route has reported any, the latest ready revision. A call is never attributed to a revision
   * with no traffic. For a split, memory is the largest among the revisions with traffic (billing never
   * under-charges a call whose revision is unknown) and the split is named; the revision billed is that
   * largest one.
   */
  static Optional<FunctionTarget> resolve(String namespace, String function, KnativeService svc,
      java.util.function.Function<String, KnativeRevision> revisions, Delivery delivery, int concurrency) {
    return resolve(namespace, function, svc, revisions, r -> null, delivery, concurrency);
  }

  static Optional<FunctionTarget> resolve(String namespace, String function, KnativeService svc,
      java.util.function.Function<String, KnativeRevision> revisions, java.util.function.Function<String, Instant> readySince,
      Delivery delivery, int concurrency) {
    KnativeService.Status st = svc.getStatus();
    if (st == null) return Optional.empty();
    int at = function.indexOf('@');
    String tag = at < 0 ? null : function.substring(at + 1);
    String url;
    List<KnativeService.Traffic> routes = new ArrayList<>();
    if (tag != null) {
      KnativeService.Traffic t = st.traffic == null ? null
          : st.traffic.stream().filter(x -> tag.equals(x.tag)).findFirst().orElse(null);
      if (t == null || t.url == null) return Optional.empty();
      url = t.url;
      routes.add(t);
    } else {
      url = st.address != null && st.address.url != null ? st.address.url : st.url;
      if (st.traffic != null) {
        for (KnativeService.Traffic t : st.traffic) if (t.percent != null && t.percent > 0) routes.add(t);
      }
      if (routes.isEmpty() && st.latestReadyRevisionName != null) {
        KnativeService.Traffic latest = new KnativeService.Traffic();
        latest.revisionName = st.latestReadyRevisionName;
        latest.percent = 100L;
        routes.add(latest);
      }
    }
    if (url == null || routes.isEmpty()) return Optional.empty();
    routes = byRevision(routes, st.latestReadyRevisionName);
    String billed = null;
    int memory = 0;
    long timeoutMs = 0;
    int cc = 0;
    Integer ready = 0;
    boolean anyUnreported = false;
    long podCapacity = Long.MAX_VALUE;
    List<String> split = new ArrayList<>();
    for (KnativeService.Traffic t : routes) {
      String revName = t.revisionName != null ? t.revisionName : st.latestReadyRevisionName;
      if (revName == null) return Optional.empty();
      KnativeRevision rev = revisions.apply(revName);
      int mem = memoryMiB(rev);
      if (billed == null || mem > memory) {
        billed = revName;
        memory = mem;
      }
      KnativeRevision.Spec spec = rev == null ? null : rev.getSpec();
      timeoutMs = Math.max(timeoutMs, (spec == null || spec.timeoutSeconds == null ? DEFAULT_TIMEOUT_SECONDS : spec.timeoutSeconds) * 1000);
      int revCc = spec == null || spec.containerConcurrency == null ? 0 : (int) Math.min(Integer.MAX_VALUE, spec.containerConcurrency);
      Integer pods = rev == null || rev.getStatus() == null ? null : rev.getStatus().actualReplicas;
      if (pods == null) anyUnreported = true;
      else ready += pods;
      if (revCc > 0) {
        cc = cc == 0 ? revCc : Math.min(cc, revCc);
        long share = tag != null || t.percent == null ? 100 : Math.max(1, t.percent);
        // This revision receives share% of the calls: the whole target may send pods × cc × 100 / share.
        podCapacity = Math.min(podCapacity, (long) revCc * Math.max(1, pods == null ? 1 : pods) * 100 / share);
      }
      if (routes.size() > 1) split.add(revName + "=" + t.percent);
    }
    // Every revision with traffic at zero is a cold start; one not yet reported leaves it unknown.
    Integer readyReplicas = ready > 0 ? ready : anyUnreported ? null : Integer.valueOf(0);
    String ca = st.address == null ? null : st.address.caCerts;
    Serving serving = new Serving(cc, podCapacity == Long.MAX_VALUE ? 0 : (int) Math.min(Integer.MAX_VALUE, podCapacity),
        timeoutMs, ca == null || ca.isBlank() ? null : ca, split, readySince.apply(billed));
    return Optional.of(new FunctionTarget(namespace, function, URI.create(url), memory, concurrency, delivery, DEFAULT_BREAKER,
        billed, readyReplicas, serving));
  }

  /** One entry per revision, percents added up: Knative allows two entries (a tag and latest) for one revision. */
  private static List<KnativeService.Traffic> byRevision(List<KnativeService.Traffic> routes, String latestReady) {
    Map<String, KnativeService.Traffic> merged = new java.util.LinkedHashMap<>();
    for (KnativeService.Traffic t : routes) {
      String name = t.revisionName != null ? t.revisionName : latestReady;
      KnativeService.Traffic m = merged.get(name);
      if (m == null) {
        merged.put(name, t);
      } else {
        KnativeService.Traffic sum = new KnativeService.Traffic();
        sum.revisionName = name;
        sum.percent = (m.percent == null ? 0 : m.percent) + (t.percent == null ? 0 : t.percent);
        merged.put(name, sum);
      }
    }
    return new ArrayList<>(merged.values());
  }

  private static int replicas(KnativeRevision r) {
    return r == null || r.getStatus() == null || r.getStatus().actualReplicas == null ? 0 : r.getStatus().actualReplicas;
  }

  private Policy policy(KnativeService svc) {
    String key = svc.getMetadata().getNamespace() + "/" + svc.getMetadata().getName();
    String version = String.valueOf(svc.getMetadata().getResourceVersion());
    Policy known = policies.get(key);
    if (known != null && known.resourceVersion().equals(version)) return known;
    Policy p = parse(key, version, svc.getMetadata().getAnnotations());
    if (policies.size() > 10_000) policies.clear(); // deleted Services: bounded, rebuilt on the next call
    policies.put(key, p);
    return p;
  }

  static Policy parse(String key, String version, Map<String, String> annotations) {
    ObjectNode delivery = YAML.createObjectNode();
    ObjectNode concurrency = YAML.createObjectNode();
    String prefix = "annotations of " + key + ": " + PREFIX;
    try {
      if (annotations != null) {
        for (var e : annotations.entrySet()) {
          if (!e.getKey().startsWith(PREFIX)) continue;
          String name = KEBAB.matcher(e.getKey().substring(PREFIX.length())).replaceAll(m -> m.group(1).toUpperCase());
          JsonNode value = YAML.readTree(e.getValue() == null ? "" : e.getValue());
          (name.equals("concurrency") ? concurrency : delivery).set(name, value == null || value.isMissingNode() ? null : value);
        }
      }
      return new Policy(version, ConfigLoader.delivery(prefix, delivery),
          ConfigBinder.bind(concurrency, Concurrency.class, prefix).concurrency());
    } catch (ConfigException | java.io.IOException e) {
      LOG.warn("Knative Service {}: {}; using the default policy", key, e.getMessage());
      return new Policy(version, ConfigLoader.defaultDelivery(), Concurrency.DEFAULTS.concurrency());
    }
  }

  /** {@code conveyor.dev/concurrency}, bound and checked as the config file's {@code functions[].concurrency}. */
  record Concurrency(@org.hibernate.validator.constraints.Range(min = 1, max = 1_000_000) int concurrency) {
    static final Concurrency DEFAULTS = new Concurrency(100);
  }

  /**
   * The serving container's memory in MiB (what Lambda-style billing multiplies by): its limit, else
   * its request, else 128. The serving container is the one with a port (knative/serving's
   * validation allows exactly one; a single container serves without declaring one).
   */
  static int memoryMiB(KnativeRevision rev) {
    if (rev == null || rev.getSpec() == null || rev.getSpec().containers == null || rev.getSpec().containers.isEmpty()) {
      return DEFAULT_MEMORY_MIB;
    }
    List<Container> containers = rev.getSpec().containers;
    Container serving = containers.stream().filter(c -> c.getPorts() != null && !c.getPorts().isEmpty()).findFirst()
        .orElse(containers.size() == 1 ? containers.get(0) : null);
    if (serving == null || serving.getResources() == null) return DEFAULT_MEMORY_MIB;
    for (Map<String, Quantity> amounts : java.util.Arrays.asList(serving.getResources().getLimits(), serving.getResources().getRequests())) {
      Quantity q = amounts == null ? null : amounts.get("memory");
      if (q != null) return (int) Math.max(1, Quantity.getAmountInBytes(q).longValue() / (1024 * 1024));
    }
    return DEFAULT_MEMORY_MIB;
  }

  @Override
  public void close() {
    services.forEach(SharedIndexInformer::close);
    revisions.forEach(SharedIndexInformer::close);
  }
}
