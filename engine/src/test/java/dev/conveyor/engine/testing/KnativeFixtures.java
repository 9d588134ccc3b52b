package dev.conveyor.engine.testing;

import dev.conveyor.engine.knative.KnativeRevision;
import dev.conveyor.engine.knative.KnativeService;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.Map;

/** Knative Services and Revisions in the mock API server, as Knative's controllers would leave them. */
public final class KnativeFixtures {
  private final KubernetesClient client;
  private final String namespace;

  public KnativeFixtures(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  /** A Service whose cluster-local address is {@code url}; {@code readyRevision} null: never ready. */
  public void service(String name, String url, String readyRevision, Map<String, String> annotations) {
    KnativeService svc = new KnativeService();
    svc.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).withAnnotations(annotations).build());
    KnativeService.Status st = new KnativeService.Status();
    st.url = "http://" + name + "." + namespace + ".example.com";
    st.address = new KnativeService.Address();
    st.address.url = url;
    st.latestReadyRevisionName = readyRevision;
    st.latestCreatedRevisionName = readyRevision == null ? name + "-00001" : readyRevision;
    svc.setStatus(st);
    client.resources(KnativeService.class).inNamespace(namespace).resource(svc).create();
  }

  /** A Revision with {@code ready} replicas and a memory limit such as {@code 512Mi}. */
  public void revision(String name, int ready, String memory) {
    KnativeRevision rev = new KnativeRevision();
    rev.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    KnativeRevision.Spec spec = new KnativeRevision.Spec();
    spec.containers = List.of(new ContainerBuilder().withName("user-container").withNewResources()
        .addToLimits("memory", new Quantity(memory)).endResources().build());
    rev.setSpec(spec);
    KnativeRevision.Status st = new KnativeRevision.Status();
    st.actualReplicas = ready;
    rev.setStatus(st);
    client.resources(KnativeRevision.class).inNamespace(namespace).resource(rev).create();
  }

  /** What the autoscaler does; the gateway sees it through its informer. */
  public void scale(String revision, int ready) {
    client.resources(KnativeRevision.class).inNamespace(namespace).withName(revision).edit(r -> {
      r.getStatus().actualReplicas = ready;
      return r;
    });
  }
}
