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
 * A Knative Revision ({@code serving.knative.dev/v1}): its containers (for the memory limit) and
 * its status' {@code actualReplicas} (zero: the next call is a cold start).
 */
@Group("serving.knative.dev")
@Version("v1")
@Kind("Revision")
@Plural("revisions")
public class KnativeRevision extends CustomResource<KnativeRevision.Spec, KnativeRevision.Status> implements Namespaced {
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Spec {
    public List<Container> containers;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Status {
    public Integer actualReplicas;
    public Integer desiredReplicas;
    public List<KnativeService.Condition> conditions;
  }
}
