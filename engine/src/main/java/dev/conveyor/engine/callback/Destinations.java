package dev.conveyor.engine.callback;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.config.ConveyorConfig.Destination;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.kafka.KafkaSender;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import java.util.Base64;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * onSuccess / onFailure destinations (Lambda's idea): when an invocation ends, an invocation record
 * (condition, attempts, request and response context and payloads) goes to the function's
 * configured topic, stored before the final status so it is never lost, or to a URL, signed and
 * retried like a callback and only if the tenant's allow-list permits it.
 */
public final class Destinations {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KafkaSender sender;
  private final CallbackSender posts;

  public Destinations(KafkaSender sender, CallbackSender posts) {
    this.sender = sender;
    this.posts = posts;
  }

  /** Completes once a topic destination stored the record (URL destinations are sent on the side). */
  public Future<Void> send(Invocation inv, FunctionTarget t, InvocationStatus terminal, StoredResult result) {
    Destination d = terminal.status() == InvocationState.succeeded ? t.delivery().onSuccess()
        : terminal.status() == InvocationState.failed || terminal.status() == InvocationState.expired ? t.delivery().onFailure()
        : null;
    if (d == null) return Future.succeededFuture();
    byte[] record = record(inv, t, terminal, result);
    if (d.url() != null) {
      posts.post(inv, d.url(), MultiMap.caseInsensitiveMultiMap().add("content-type", "application/json"), record);
      return Future.succeededFuture();
    }
    return sender.send(new ProducerRecord<>(d.topic(), inv.id(), record)).mapEmpty();
  }

  static String condition(InvocationStatus s) {
    return switch (s.status()) {
      case succeeded -> "Success";
      case expired -> "EventAgeExceeded";
      default -> s.httpStatus() != null && s.httpStatus() >= 400 && s.httpStatus() < 500 && s.httpStatus() != 408
          && s.httpStatus() != 429 ? "NotRetryable" : "RetriesExhausted";
    };
  }

  static byte[] record(Invocation inv, FunctionTarget t, InvocationStatus s, StoredResult result) {
    ObjectNode r = JSON.createObjectNode();
    r.put("version", "1.0");
    r.put("timestamp", (s.finishedAt() == null ? s.acceptedAt() : s.finishedAt()).toString());
    ObjectNode req = r.putObject("requestContext");
    req.put("requestId", inv.id());
    req.put("tenant", inv.tenant());
    req.put("function", inv.namespace() + "/" + inv.function());
    req.put("condition", condition(s));
    req.put("approximateInvokeCount", s.attempts());
    payload(r, "requestPayload", inv.contentType(), inv.payload());
    ObjectNode resp = r.putObject("responseContext");
    if (s.httpStatus() != null) resp.put("statusCode", s.httpStatus());
    if (t.revision() != null) resp.put("executedVersion", t.revision());
    if (s.lastError() != null) resp.put("functionError", s.lastError());
    if (result != null) payload(r, "responsePayload", result.contentType(), result.body());
    try {
      return JSON.writeValueAsBytes(r);
    } catch (Exception e) {
      throw new IllegalStateException("invocation record cannot be encoded", e);
    }
  }

  /** JSON payloads are embedded as JSON, anything else as base64 (with its content type). */
  private static void payload(ObjectNode r, String field, String contentType, byte[] body) {
    if (contentType != null && contentType.contains("json")) {
      try {
        r.set(field, JSON.readTree(body));
        return;
      } catch (Exception e) {
        // not JSON after all: base64 below
      }
    }
    ObjectNode p = r.putObject(field);
    p.put("contentType", contentType);
    p.put("base64", Base64.getEncoder().encodeToString(body));
  }

}
