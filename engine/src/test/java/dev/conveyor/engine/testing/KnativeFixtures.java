package dev.conveyor.engine.testing;

import dev.conveyor.engine.knative.KnativeRevision;
import dev.conveyor.engine.knative.KnativeService;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Knative Services and Revisions in the mock API server, as Knative's controllers leave them: each
 * starts from an object in {@code src/test/resources/knative/} shaped as knative/serving writes it
 * (labels, defaults, conditions, {@code status.traffic}, cluster-local address), with the test's
 * names, URL, memory, containerConcurrency and replicas put in.
 */
public final class KnativeFixtures {
  private final KubernetesClient client;
  private final String namespace;

  public KnativeFixtures(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  /** One entry of a Service's {@code status.traffic}; {@code tagUrl} only for a tag. */
  public record Route(String revision, long percent, String tag, String tagUrl) {
    public static Route all(String revision) {
      return new Route(revision, 100, null, null);
    }
  }

  /** A Service whose cluster-local address is {@code url}; {@code readyRevision} null: never ready (no traffic). */
  public void service(String name, String url, String readyRevision, Map<String, String> annotations) {
    service(name, url, null, readyRevision, annotations, readyRevision == null ? List.of() : List.of(Route.all(readyRevision)));
  }

  /** A Service with its Route's traffic as given, and {@code caCerts} in {@code status.address} (null: none). */
  public void service(String name, String url, String caCerts, String latestReady, Map<String, String> annotations, List<Route> traffic) {
    KnativeService svc = load("service-split.yaml", KnativeService.class);
    svc.getMetadata().setName(name);
    svc.getMetadata().setNamespace(namespace);
    svc.getMetadata().setAnnotations(new HashMap<>(annotations));
    KnativeService.Status st = svc.getStatus();
    st.url = "http://" + name + "." + namespace + ".example.com";
    st.address.url = url;
    st.address.caCerts = caCerts;
    st.latestReadyRevisionName = latestReady;
    st.latestCreatedRevisionName = latestReady == null ? name + "-00001" : latestReady;
    st.traffic = new ArrayList<>();
    for (Route r : traffic) {
      KnativeService.Traffic t = new KnativeService.Traffic();
      t.revisionName = r.revision();
      t.percent = r.percent();
      t.latestRevision = r.revision().equals(latestReady);
      t.tag = r.tag();
      t.url = r.tagUrl();
      st.traffic.add(t);
    }
    client.resources(KnativeService.class).inNamespace(namespace).resource(svc).create();
  }

  /** A warm or scaled-to-zero Revision with {@code ready} replicas and a memory limit such as {@code 512Mi}. */
  public void revision(String name, int ready, String memory) {
    revision(name, ready, memory, 0, 300);
  }

  /**
   * A Revision of Service {@code name-NNNNN}'s configuration; {@code ready} null: the autoscaler has
   * not reported yet (no {@code actualReplicas}, as on a brand-new revision).
   */
  public void revision(String name, Integer ready, String memory, long containerConcurrency, long timeoutSeconds) {
    KnativeRevision rev = load(ready == null ? "revision-new-sidecar-first.yaml" : ready == 0 ? "revision-zero-128mi.yaml"
        : "revision-warm-2gi.yaml", KnativeRevision.class);
    String service = name.replaceAll("-\\d{5}$", "");
    rev.getMetadata().setName(name);
    rev.getMetadata().setNamespace(namespace);
    rev.getMetadata().getLabels().put("serving.knative.dev/service", service);
    rev.getMetadata().getLabels().put("serving.knative.dev/configuration", service);
    rev.getSpec().containerConcurrency = containerConcurrency;
    rev.getSpec().timeoutSeconds = timeoutSeconds;
    var serving = rev.getSpec().containers.stream().filter(c -> c.getPorts() != null && !c.getPorts().isEmpty()).findFirst().orElseThrow();
    serving.getResources().setLimits(Map.of("memory", new Quantity(memory)));
    serving.getResources().setRequests(Map.of());
    rev.getStatus().actualReplicas = ready;
    rev.getStatus().desiredReplicas = ready;
    client.resources(KnativeRevision.class).inNamespace(namespace).resource(rev).create();
  }

  /** What the autoscaler does; the gateway sees it through its informer. */
  public void scale(String revision, int ready) {
    client.resources(KnativeRevision.class).inNamespace(namespace).withName(revision).edit(r -> {
      r.getStatus().actualReplicas = ready;
      r.getStatus().desiredReplicas = ready;
      return r;
    });
  }

  private static <T> T load(String file, Class<T> type) {
    try (InputStream in = KnativeFixtures.class.getResourceAsStream("/knative/" + file)) {
      return Serialization.unmarshal(in, type);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
