package dev.conveyor.engine.connect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.config.ConfigBinder;
import dev.conveyor.connector.spi.ConnectorContext;
import dev.conveyor.connector.spi.ConnectorContext.Submission;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.http.ApiError;
import dev.conveyor.engine.http.AuthHandler;
import dev.conveyor.engine.http.RawBodyHandler;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.format.EventFormat;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.http.vertx.VertxMessageFactory;
import io.cloudevents.jackson.JsonFormat;
import io.cloudevents.rw.CloudEventRWException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /v1/namespaces/{ns}/events}: a CloudEvents sink (usable by a Knative Broker or
 * Trigger) configured by a {@code type: cloudevents} entry under {@code connectors:}. Binary,
 * structured and batch mode are read with the CloudEvents SDK. Each event is routed by its
 * {@code type} (and, if the route names one, {@code source}) to a function, then submitted like any
 * connector's event: the dedupe key is {@code source + id} (CloudEvents' identity), so a Broker's
 * redelivery queues nothing twice. The answer is 202 only once every event is stored; an event no
 * route takes is 400 {@code no_route}; a malformed one 400 {@code invalid_cloudevent} with the SDK's reason.
 */
public final class CloudEventsIngress {
  /** One routing rule: events of {@code type} (and {@code source}, if set) go to {@code namespace/function}. */
  record Route(String type, String source, String namespace, String function) {}

  private static final String BATCH = "application/cloudevents-batch+json";
  private final Map<String, List<Route>> routesByNamespace;
  private final ConnectorContext submissions;

  private CloudEventsIngress(Map<String, List<Route>> routes, ConnectorContext submissions) {
    this.routesByNamespace = routes;
    this.submissions = submissions;
  }

  /** A {@code type: cloudevents} entry under {@code connectors:}, bound and checked like the config file. */
  record Entry(String type, String name, @NotBlank(message = "is required: the namespace whose /events this is") String namespace,
      @NotEmpty(message = "at least one route { type, target } is required") List<@Valid RouteEntry> routes) {
    static final Entry DEFAULTS = new Entry(null, null, null, List.of());
  }

  record RouteEntry(@NotBlank(message = "is required") String type, String source,
      @Valid @NotNull(message = "is required: { namespace, function }") Target target) {
    static final RouteEntry DEFAULTS = new RouteEntry(null, null, null);
  }

  record Target(@NotBlank(message = "is required") String namespace, @NotBlank(message = "is required") String function) {
    static final Target DEFAULTS = new Target(null, null);
  }

  /** The {@code type: cloudevents} entries of {@code connectors:}; other types are the connector host's. */
  public static CloudEventsIngress from(JsonNode connectors, ConnectorContext submissions) {
    Map<String, List<Route>> routes = new HashMap<>();
    for (int i = 0; connectors != null && connectors.isArray() && i < connectors.size(); i++) {
      if (!(connectors.get(i) instanceof ObjectNode c) || !"cloudevents".equals(c.path("type").asText())) continue;
      Entry e = ConfigBinder.bind(c.deepCopy(), Entry.class, "connectors[" + i + "].");
      for (RouteEntry r : e.routes()) {
        routes.computeIfAbsent(e.namespace(), k -> new ArrayList<>())
            .add(new Route(r.type(), r.source(), r.target().namespace(), r.target().function()));
      }
    }
    return new CloudEventsIngress(Map.copyOf(routes), submissions);
  }

  public void handle(RoutingContext ctx) {
    Principal p = AuthHandler.require(ctx, Role.invoke);
    String ns = ctx.pathParam("ns");
    if (!p.owns(ns)) throw ApiError.forbidden("namespace_forbidden", "This credential may not send events to namespace '" + ns + "'.");
    List<Route> routes = routesByNamespace.get(ns);
    if (routes == null) {
      throw ApiError.notFound("not_found", "No CloudEvents ingress is configured for namespace '" + ns + "'.");
    }
    Buffer body = RawBodyHandler.body(ctx);
    List<CloudEvent> events = new ArrayList<>();
    try {
      String ct = ctx.request().getHeader("content-type");
      if (ct != null && ct.toLowerCase().startsWith(BATCH)) {
        EventFormat json = EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE);
        JsonArray batch = new JsonArray(body);
        for (Object o : batch) {
          if (!(o instanceof JsonObject e)) throw new IllegalArgumentException("a batch holds JSON objects");
          events.add(json.deserialize(e.toBuffer().getBytes()));
        }
      } else {
        events.add(VertxMessageFactory.createReader(ctx.request().headers(), body).toEvent());
      }
    } catch (CloudEventRWException | io.cloudevents.core.format.EventDeserializationException | IllegalArgumentException
        | IllegalStateException | io.vertx.core.json.DecodeException e) {
      // IllegalStateException: the SDK's builder refusing an event without a required attribute (id, source, type)
      throw ApiError.badRequest("invalid_cloudevent", "Not a valid CloudEvent: " + firstLine(e) + ".");
    }
    List<Future<String>> queued = new ArrayList<>();
    for (CloudEvent e : events) {
      Route r = routes.stream().filter(x -> x.type().equals(e.getType())
          && (x.source() == null || x.source().equals(e.getSource().toString()))).findFirst().orElse(null);
      if (r == null) {
        throw ApiError.badRequest("no_route", "No route for events of type '" + e.getType() + "' from '" + e.getSource() + "'.");
      }
      queued.add(submissions.submit(submission(e, r)));
    }
    Future.all(queued).onComplete(ar -> {
      if (ar.failed()) {
        Throwable c = ar.cause();
        dev.conveyor.engine.http.FailureHandler.send(ctx, c instanceof ConnectorContext.Rejected
            ? ApiError.badRequest("event_rejected", c.getMessage() + ".")
            : c instanceof dev.conveyor.engine.kafka.OutcomeUnknownException
            ? new ApiError(503, "store_outcome_unknown", "Kafka did not confirm whether the events were stored; send them again: "
                + "redelivery is deduplicated by source and id, so each runs once.", 5L)
            : ApiError.unavailable("The events could not be stored; retry (redelivery is deduplicated by source and id)."));
        return;
      }
      JsonArray ids = new JsonArray();
      queued.forEach(f -> ids.add(f.result()));
      ctx.response().setStatusCode(202).putHeader("content-type", "application/json")
          .end(new JsonObject().put("ids", ids).encode());
    });
  }

  private static Submission submission(CloudEvent e, Route r) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("ce-specversion", e.getSpecVersion().toString());
    h.put("ce-id", e.getId());
    h.put("ce-type", e.getType());
    h.put("ce-source", e.getSource().toString());
    if (e.getSubject() != null) h.put("ce-subject", e.getSubject());
    if (e.getTime() != null) h.put("ce-time", e.getTime().toString());
    if (e.getDataSchema() != null) h.put("ce-dataschema", e.getDataSchema().toString());
    for (String name : e.getExtensionNames()) {
      Object v = e.getExtension(name);
      if (v != null) h.put("ce-" + name, v.toString());
    }
    byte[] data = e.getData() == null ? new byte[0] : e.getData().toBytes();
    String ct = e.getDataContentType() == null ? "application/json" : e.getDataContentType();
    return new Submission(r.namespace(), r.function(), ct, data, h, "ce:" + e.getSource() + ":" + e.getId(), "cloudevent");
  }

  private static String firstLine(Exception e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    m = m.lines().findFirst().orElse(m);
    return m.length() > 200 ? m.substring(0, 200) : m;
  }
}
