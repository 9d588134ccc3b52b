package dev.conveyor.engine.metering;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.soabase.recordbuilder.core.RecordBuilder;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.kafka.RecordSink;
import io.vertx.core.Future;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Writes one usage record per attempt to {@code conveyor.usage} (docs/metering.md): a CloudEvent in
 * structured mode, key = tenant, {@code ce_*} headers for consumers that route on headers.
 * The id is {@code <invocationId>:<attempt>}: the same attempt always yields the same id, on any
 * replica and after any restart, so billing systems dedupe on {@code (source, id)}.
 */
public final class UsageEmitter {
  public static final String TYPE = "dev.conveyor.invocation.usage.v1";
  static final DateTimeFormatter RFC3339_MS = dev.conveyor.engine.api.Rfc3339.MILLIS;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] CONTENT_TYPE = "application/cloudevents+json".getBytes(StandardCharsets.UTF_8);

  /** The facts of one attempt, as measured by the dispatcher. */
  @RecordBuilder
  public record Attempt(
      Invocation invocation, int attempt, InvocationMode mode, String trigger, AttemptOutcome outcome, Integer httpStatus,
      Instant start, Instant end, boolean coldStart, long coldStartMs, long queueWaitMs, int memoryMiB,
      long requestBytes, long responseBytes, String revision) {}

  private final RecordSink sender;
  private final String topic;
  private final String source;
  private final int granularityMs;

  public UsageEmitter(RecordSink sender, String topic, String source, int granularityMs) {
    this.sender = sender;
    this.topic = topic;
    this.source = source;
    this.granularityMs = granularityMs;
  }

  public static String id(String invocationId, int attempt) {
    return invocationId + ":" + attempt;
  }

  /** The CloudEvent of one attempt, as a tree (what {@link #record} writes, read back). */
  public ObjectNode event(Attempt a) {
    try {
      return (ObjectNode) JSON.readTree(json(a));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The CloudEvent of one attempt, written field by field with Jackson's streaming generator: one
   * of these per attempt is on the dispatcher's event loop, and building a tree first cost twice as
   * much (and the time zone rules of a formatter three times per record).
   */
  byte[] json(Attempt a) {
    Invocation inv = a.invocation();
    long durationMs = Math.max(0, a.end().toEpochMilli() - a.start().toEpochMilli());
    long billed = Billing.billedDurationMs(durationMs, granularityMs);
    return JsonBytes.of(1024, g -> {
      g.writeStartObject();
      g.writeStringField("specversion", "1.0");
      g.writeStringField("type", TYPE);
      g.writeStringField("source", source);
      g.writeStringField("id", id(inv.id(), a.attempt()));
      g.writeStringField("subject", inv.tenant());
      g.writeStringField("time", rfc3339Millis(a.end()));
      g.writeStringField("datacontenttype", "application/json");
      g.writeStringField("partitionkey", inv.tenant());
      if (inv.traceparent() != null) g.writeStringField("traceparent", inv.traceparent());
      g.writeObjectFieldStart("data");
      g.writeStringField("tenant", inv.tenant());
      g.writeStringField("namespace", inv.namespace());
      g.writeStringField("function", inv.function());
      g.writeStringField("revision", a.revision());
      g.writeStringField("invocationId", inv.id());
      g.writeNumberField("attempt", a.attempt());
      g.writeStringField("idempotencyKey", inv.idempotencyKey());
      g.writeStringField("mode", a.mode().name());
      g.writeStringField("trigger", a.trigger());
      g.writeStringField("outcome", a.outcome().name());
      if (a.httpStatus() == null) g.writeNullField("httpStatus"); else g.writeNumberField("httpStatus", a.httpStatus());
      g.writeStringField("startTime", rfc3339Millis(a.start()));
      g.writeStringField("endTime", rfc3339Millis(a.end()));
      g.writeNumberField("durationMs", durationMs);
      g.writeNumberField("billedDurationMs", billed);
      g.writeBooleanField("coldStart", a.coldStart());
      g.writeNumberField("coldStartMs", a.coldStartMs());
      g.writeNumberField("queueWaitMs", a.queueWaitMs());
      g.writeNumberField("memoryMiB", a.memoryMiB());
      g.writeStringField("gibSeconds", Billing.gibSeconds(billed, a.memoryMiB()));
      g.writeNumberField("requestBytes", a.requestBytes());
      g.writeNumberField("responseBytes", a.responseBytes());
      g.writeStringField("traceId", inv.traceId());
      g.writeEndObject();
      g.writeEndObject();
    });
  }

  /** RFC 3339 in UTC with milliseconds, e.g. {@code 2026-03-01T10:00:00.120Z}, as the usage record schema fixes it. */
  static String rfc3339Millis(Instant t) {
    return dev.conveyor.engine.api.Rfc3339.millis(t);
  }

  public ProducerRecord<String, byte[]> record(Attempt a) {
    Invocation inv = a.invocation();
    return record(topic, inv.tenant(), json(a), id(inv.id(), a.attempt()), TYPE, source);
  }

  /**
   * A usage CloudEvent (a record or a correction) as a record of {@code topic}: structured JSON, key =
   * the tenant (its {@code subject}), and the {@code ce_*} headers consumers route on.
   */
  static ProducerRecord<String, byte[]> record(String topic, ObjectNode ce) {
    try {
      return record(topic, ce.get("subject").asText(), JSON.writeValueAsBytes(ce), ce.get("id").asText(), ce.get("type").asText(),
          ce.get("source").asText());
    } catch (IOException e) {
      throw new IllegalStateException("usage record cannot be encoded", e);
    }
  }

  private static ProducerRecord<String, byte[]> record(String topic, String tenant, byte[] value, String id, String type,
      String source) {
    RecordHeaders h = new RecordHeaders();
    h.add("content-type", CONTENT_TYPE);
    h.add("ce_id", id.getBytes(StandardCharsets.UTF_8));
    h.add("ce_type", type.getBytes(StandardCharsets.UTF_8));
    h.add("ce_source", source.getBytes(StandardCharsets.UTF_8));
    h.add("ce_subject", tenant.getBytes(StandardCharsets.UTF_8));
    return new ProducerRecord<>(topic, null, tenant, value, h);
  }

  /** Completes once the record is stored (acks=all); the attempt's outcome waits for it. */
  public Future<Void> emit(Attempt a) {
    return sender.send(record(a)).mapEmpty();
  }
}
