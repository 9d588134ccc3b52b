package dev.conveyor.engine.knative;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.List;

/**
 * A Knative Service ({@code serving.knative.dev/v1}), typed only as far as Conveyor reads it:
 * annotations (policy), and the status' URLs, latest ready revision and conditions. The spec is
 * kept as JSON (Conveyor never writes it). fabric8's knative-client does not work with fabric8 8.
 */
@Group("serving.knative.dev")
@Version("v1")
@Kind("Service")
@Plural("services")
public class KnativeService extends CustomResource<JsonNode, KnativeService.Status> implements Namespaced {
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Status {
    public String url;
    public Address address;
    public String latestReadyRevisionName;
    public String latestCreatedRevisionName;
    public List<Condition> conditions;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Address {
    public String url;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Condition {
    public String type;
    public String status;
    public String reason;
  }
}
