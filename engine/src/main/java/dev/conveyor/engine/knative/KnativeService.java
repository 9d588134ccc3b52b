package dev.conveyor.engine.knative;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.List;

/**
 * A Knative Service ({@code serving.knative.dev/v1}), typed only as far as Conveyor reads it:
 * annotations (policy), and the status' URLs, traffic, latest ready revision and conditions (field
 * names of knative/serving's {@code service_types.go}, {@code route_types.go} and duck
 * {@code Addressable}: {@code CACerts} is spelled so in JSON). fabric8's knative-client does not work with fabric8 8.
 */
@Group("serving.knative.dev")
@Version("v1")
@Kind("Service")
@Plural("services")
public class KnativeService extends CustomResource<KnativeService.Spec, KnativeService.Status> implements Namespaced {
  /**
   * Conveyor never reads or writes the spec; it is typed (and all of it ignored) because fabric8 8
   * deserializes with Jackson 3, which cannot build Jackson 2's {@code JsonNode} a real Service's
   * spec would have needed.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Spec {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Status {
    public String url;
    public Address address;
    public String latestReadyRevisionName;
    public String latestCreatedRevisionName;
    public List<Traffic> traffic;
    public List<Condition> conditions;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Address {
    public String url;
    @JsonProperty("CACerts")
    public String caCerts;
  }

  /** One entry of {@code status.traffic}: the Route's resolved targets (the revision name always filled in). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Traffic {
    public String tag;
    public String revisionName;
    public String configurationName;
    public Boolean latestRevision;
    public Long percent;
    public String url;
  }

  @JsonIgnoreProperties(ignoreUnknown = true)
  public static class Condition {
    public String type;
    public String status;
    public String reason;
    public String message;
  }
}
