package dev.conveyor.engine.metering;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.kafka.KafkaSender;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes one usage record per attempt to {@code conveyor.usage} (SPEC §7): a CloudEvent in
 * structured mode, key = tenant, {@code ce_*} headers for consumers that route on headers.
 * The id is {@code <invocationId>:<attempt>}: the same attempt always yields the same id, on any
 * replica and after any restart, so billing systems dedupe on {@code (source, id)}.
 */
public final class UsageEmitter {
  public static final String TYPE = "dev.conveyor.invocation.usage.v1";
  static final DateTimeFormatter RFC3339_MS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The facts of one attempt, as measured by the dispatcher. */
  public record Attempt(
      Invocation invocation, int attempt, String mode, String trigger, String outcome, Integer httpStatus,
      Instant start, Instant end, boolean coldStart, long coldStartMs, long queueWaitMs, int memoryMiB,
      long requestBytes, long responseBytes, String revision) {}

  private final KafkaSender sender;
  private final String topic;
  private final String source;
  private final int granularityMs;

  public UsageEmitter(KafkaSender sender, String topic, String source, int granularityMs) {
    this.sender = sender;
    this.topic = topic;
    this.source = source;
    this.granularityMs = granularityMs;
  }

  public static String id(String invocationId, int attempt) {
    return invocationId + ":" + attempt;
  }

  public ObjectNode event(Attempt a) {
    Invocation inv = a.invocation();
    long durationMs = Math.max(0, a.end().toEpochMilli() - a.start().toEpochMilli());
    long billed = Billing.billedDurationMs(durationMs, granularityMs);
    ObjectNode ce = JSON.createObjectNode();
    ce.put("specversion", "1.0");
    ce.put("type", TYPE);
    ce.put("source", source);
    ce.put("id", id(inv.id(), a.attempt()));
    ce.put("subject", inv.tenant());
    ce.put("time", RFC3339_MS.format(a.end()));
    ce.put("datacontenttype", "application/json");
    ce.put("partitionkey", inv.tenant());
    if (inv.traceparent() != null) ce.put("traceparent", inv.traceparent());
    ObjectNode d = ce.putObject("data");
    d.put("tenant", inv.tenant());
    d.put("namespace", inv.namespace());
    d.put("function", inv.function());
    if (a.revision() == null) d.putNull("revision"); else d.put("revision", a.revision());
    d.put("invocationId", inv.id());
    d.put("attempt", a.attempt());
    if (inv.idempotencyKey() == null) d.putNull("idempotencyKey"); else d.put("idempotencyKey", inv.idempotencyKey());
    d.put("mode", a.mode());
    d.put("trigger", a.trigger());
    d.put("outcome", a.outcome());
    if (a.httpStatus() == null) d.putNull("httpStatus"); else d.put("httpStatus", a.httpStatus());
    d.put("startTime", RFC3339_MS.format(a.start()));
    d.put("endTime", RFC3339_MS.format(a.end()));
    d.put("durationMs", durationMs);
    d.put("billedDurationMs", billed);
    d.put("coldStart", a.coldStart());
    d.put("coldStartMs", a.coldStartMs());
    d.put("queueWaitMs", a.queueWaitMs());
    d.put("memoryMiB", a.memoryMiB());
    d.put("gibSeconds", Billing.gibSeconds(billed, a.memoryMiB()));
    d.put("requestBytes", a.requestBytes());
    d.put("responseBytes", a.responseBytes());
    if (inv.traceId() == null) d.putNull("traceId"); else d.put("traceId", inv.traceId());
    return ce;
  }

  public ProducerRecord<String, byte[]> record(Attempt a) {
    return record(topic, event(a));
  }

  /**
   * A usage CloudEvent (a record or a correction) as a record of {@code topic}: structured JSON, key =
   * the tenant (its {@code subject}), and the {@code ce_*} headers consumers route on.
   */
  static ProducerRecord<String, byte[]> record(String topic, ObjectNode ce) {
    String tenant = ce.get("subject").asText();
    RecordHeaders h = new RecordHeaders();
    h.add("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
    for (String attr : new String[] {"id", "type", "source", "subject"}) {
      h.add("ce_" + attr, ce.get(attr).asText().getBytes(StandardCharsets.UTF_8));
    }
    try {
      return new ProducerRecord<>(topic, null, tenant, JSON.writeValueAsBytes(ce), h);
    } catch (Exception e) {
      throw new IllegalStateException("usage record cannot be encoded", e);
    }
  }

  /** Completes once the record is stored (acks=all); the attempt's outcome waits for it. */
  public Future<Void> emit(Attempt a) {
    return sender.send(record(a)).mapEmpty();
  }
}
