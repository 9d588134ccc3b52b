package dev.conveyor.engine.knative;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.List;

/**
 * A Knative Revision ({@code serving.knative.dev/v1}), typed as far as Conveyor reads it (the field
 * names of knative/serving's {@code pkg/apis/serving/v1/revision_types.go}): the containers (the
 * serving one is the container with a port), {@code containerConcurrency} (0 = unlimited),
 * {@code timeoutSeconds} (the controller's defaulting writes it, 300 unless configured), and the
 * status' {@code actualReplicas} (the autoscaler writes 0 at zero; absent until its first report).
 */
@Group("serving.knative.dev")
@Version("v1")
@Kind("Revision")
@Plural("revisions")
public class KnativeRevision extends CustomResource<KnativeRevision.Spec, KnativeRevision.Status> implements Namespaced {
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Spec {
    public List<Container> containers;
    public Long containerConcurrency;
    public Long timeoutSeconds;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Status {
    public Integer actualReplicas;
    public Integer desiredReplicas;
    public List<KnativeService.Condition> conditions;
  }
}
