package dev.conveyor.engine.knative;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.conveyor.engine.config.ConfigException;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import java.net.URI;
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
 * each, never an API call per request). A Service is a function once it has a ready revision and a
 * URL: {@code namespace/name} resolves to its cluster-local address, its latest ready revision, that
 * revision's {@code actualReplicas} and container memory limit, and the policy of its
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

  private final List<SharedIndexInformer<KnativeService>> services = new ArrayList<>();
  private final List<SharedIndexInformer<KnativeRevision>> revisions = new ArrayList<>();
  /** Parsed policy per Service, by resourceVersion: annotations are parsed once per change. */
  private final Map<String, Policy> policies = new ConcurrentHashMap<>();

  record Policy(String resourceVersion, Delivery delivery, int concurrency) {}

  private final List<CompletableFuture<Void>> starts = new ArrayList<>();

  /** Starts an informer per namespace and kind (no resync: the watch keeps the cache current). */
  public KnativeDiscovery(KubernetesClient client, List<String> namespaces) {
    for (String ns : namespaces) {
      SharedIndexInformer<KnativeService> s = client.resources(KnativeService.class).inNamespace(ns).runnableInformer(0);
      SharedIndexInformer<KnativeRevision> r = client.resources(KnativeRevision.class).inNamespace(ns).runnableInformer(0);
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
    String key = Cache.namespaceKeyFunc(namespace, function);
    KnativeService svc = null;
    for (SharedIndexInformer<KnativeService> i : services) {
      svc = i.getStore().getByKey(key);
      if (svc != null) break;
    }
    if (svc == null || svc.getStatus() == null || svc.getStatus().latestReadyRevisionName == null) return Optional.empty();
    KnativeService.Status st = svc.getStatus();
    String url = st.address != null && st.address.url != null ? st.address.url : st.url;
    if (url == null) return Optional.empty();
    String revisionName = st.latestReadyRevisionName;
    KnativeRevision rev = null;
    for (SharedIndexInformer<KnativeRevision> i : revisions) {
      rev = i.getStore().getByKey(Cache.namespaceKeyFunc(namespace, revisionName));
      if (rev != null) break;
    }
    Integer ready = rev == null || rev.getStatus() == null ? null : rev.getStatus().actualReplicas;
    if (rev != null && rev.getStatus() != null && ready == null) ready = 0; // Knative omits 0
    Policy p = policy(svc);
    return Optional.of(new FunctionTarget(namespace, function, URI.create(url), memoryMiB(rev), p.concurrency(),
        p.delivery(), DEFAULT_BREAKER, revisionName, ready));
  }

  private Policy policy(KnativeService svc) {
    String key = svc.getMetadata().getNamespace() + "/" + svc.getMetadata().getName();
    String version = String.valueOf(svc.getMetadata().getResourceVersion());
    Policy known = policies.get(key);
    if (known != null && known.resourceVersion().equals(version)) return known;
    Policy p = parse(key, version, svc.getMetadata().getAnnotations());
    policies.put(key, p);
    return p;
  }

  static Policy parse(String key, String version, Map<String, String> annotations) {
    ObjectNode delivery = YAML.createObjectNode();
    int concurrency = 100;
    try {
      if (annotations != null) {
        for (var e : annotations.entrySet()) {
          if (!e.getKey().startsWith(PREFIX)) continue;
          String name = KEBAB.matcher(e.getKey().substring(PREFIX.length())).replaceAll(m -> m.group(1).toUpperCase());
          JsonNode value = YAML.readTree(e.getValue() == null ? "" : e.getValue());
          if (name.equals("concurrency")) {
            if (value == null || !value.canConvertToInt() || value.asInt() < 1) {
              throw new ConfigException(PREFIX + "concurrency", "expected a positive whole number");
            }
            concurrency = value.asInt();
          } else {
            delivery.set(name, value);
          }
        }
      }
      return new Policy(version, ConfigLoader.delivery("annotations of " + key + ": " + PREFIX, delivery), concurrency);
    } catch (ConfigException | java.io.IOException e) {
      LOG.warn("Knative Service {}: {}; using the default policy", key, e.getMessage());
      return new Policy(version, ConfigLoader.defaultDelivery(), 100);
    }
  }

  /** The first container's memory limit in MiB (what Lambda-style billing multiplies by), or 128. */
  static int memoryMiB(KnativeRevision rev) {
    if (rev == null || rev.getSpec() == null || rev.getSpec().containers == null) return 128;
    for (Container c : rev.getSpec().containers) {
      if (c.getResources() == null || c.getResources().getLimits() == null) continue;
      Quantity q = c.getResources().getLimits().get("memory");
      if (q != null) return (int) Math.max(1, Quantity.getAmountInBytes(q).longValue() / (1024 * 1024));
    }
    return 128;
  }

  @Override
  public void close() {
    services.forEach(SharedIndexInformer::close);
    revisions.forEach(SharedIndexInformer::close);
  }
}
