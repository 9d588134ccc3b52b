package dev.conveyor.engine.callback;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.config.ConveyorConfig.Destination;
import dev.conveyor.engine.functions.FunctionTarget;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * onSuccess / onFailure destinations (Lambda's idea): when an invocation ends, an invocation record
 * (condition, attempts, request and response context and payloads) goes to the function's
 * configured topic, or to a URL as an {@link OutboundPost} (signed, retried and allow-listed like
 * a callback). Either way it is a Kafka record the runner stores before the final status, so a
 * crash may repeat it but never lose it.
 */
public final class Destinations {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Destinations() {}

  /** What the ending of this invocation owes its function's destination, if anything. */
  public static Optional<ProducerRecord<String, byte[]>> record(Invocation inv, FunctionTarget t, InvocationStatus terminal,
      StoredResult result, String postsTopic) {
    Destination d = terminal.status() == InvocationState.succeeded ? t.delivery().onSuccess()
        : terminal.status() == InvocationState.failed || terminal.status() == InvocationState.expired ? t.delivery().onFailure()
        : null;
    if (d == null) return Optional.empty();
    byte[] record = record(inv, t, terminal, result);
    if (d.url() != null) {
      return Optional.of(new OutboundPost(inv.id(), inv.tenant(), OutboundPost.DESTINATION, d.url(),
          Map.of("content-type", "application/json"), record).toRecord(postsTopic));
    }
    return Optional.of(new ProducerRecord<>(d.topic(), inv.id(), record));
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
