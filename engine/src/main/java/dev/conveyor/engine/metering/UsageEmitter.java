package dev.conveyor.engine.metering;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
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
  private final SerializedString sourceJson;
  private final int granularityMs;

  public UsageEmitter(RecordSink sender, String topic, String source, int granularityMs) {
    this.sender = sender;
    this.topic = topic;
    this.source = source;
    this.sourceJson = new SerializedString(source);
    this.granularityMs = granularityMs;
  }

  public static String id(String invocationId, int attempt) {
    return invocationId + ":" + attempt;
  }

  /** The CloudEvent of one attempt, as a tree (what {@link #record} writes, read back). */
  public ObjectNode event(Attempt a) {
    try {
      return (ObjectNode) JSON.readTree(json(a, id(a.invocation().id(), a.attempt())));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The CloudEvent's member names, and the values that never change, each encoded once: the generator
   * copies their quoted bytes instead of checking every character of a string for escapes.
   */
  private enum F {
    specversion, type, source, id, subject, time, datacontenttype, partitionkey, traceparent, data, tenant, namespace, function,
    revision, invocationId, attempt, idempotencyKey, mode, trigger, outcome, httpStatus, startTime, endTime, durationMs,
    billedDurationMs, coldStart, coldStartMs, queueWaitMs, memoryMiB, gibSeconds, requestBytes, responseBytes, traceId;

    final SerializedString json = new SerializedString(name());
  }

  private static final SerializedString SPEC_1_0 = new SerializedString("1.0");
  private static final SerializedString TYPE_JSON = new SerializedString(TYPE);
  private static final SerializedString APPLICATION_JSON = new SerializedString("application/json");

  private static void field(JsonGenerator g, F f, SerializedString value) throws IOException {
    g.writeFieldName(f.json);
    g.writeString(value);
  }

  /** A string member ({@code null} as JSON null). */
  private static void field(JsonGenerator g, F f, String value) throws IOException {
    g.writeFieldName(f.json);
    g.writeString(value);
  }

  private static void field(JsonGenerator g, F f, long value) throws IOException {
    g.writeFieldName(f.json);
    g.writeNumber(value);
  }

  /**
   * The CloudEvent of one attempt, written field by field with Jackson's streaming generator: one
   * of these per attempt is on the dispatcher's event loop, and building a tree first cost twice as
   * much (and the time zone rules of a formatter three times per record).
   */
  private byte[] json(Attempt a, String id) {
    Invocation inv = a.invocation();
    String end = rfc3339Millis(a.end());
    long durationMs = Math.max(0, a.end().toEpochMilli() - a.start().toEpochMilli());
    long billed = Billing.billedDurationMs(durationMs, granularityMs);
    return JsonBytes.of(g -> {
      g.writeStartObject();
      field(g, F.specversion, SPEC_1_0);
      field(g, F.type, TYPE_JSON);
      field(g, F.source, sourceJson);
      field(g, F.id, id);
      field(g, F.subject, inv.tenant());
      field(g, F.time, end);
      field(g, F.datacontenttype, APPLICATION_JSON);
      field(g, F.partitionkey, inv.tenant());
      if (inv.traceparent() != null) field(g, F.traceparent, inv.traceparent());
      g.writeFieldName(F.data.json);
      g.writeStartObject();
      field(g, F.tenant, inv.tenant());
      field(g, F.namespace, inv.namespace());
      field(g, F.function, inv.function());
      field(g, F.revision, a.revision());
      field(g, F.invocationId, inv.id());
      field(g, F.attempt, a.attempt());
      field(g, F.idempotencyKey, inv.idempotencyKey());
      field(g, F.mode, a.mode().name());
      field(g, F.trigger, a.trigger());
      field(g, F.outcome, a.outcome().name());
      g.writeFieldName(F.httpStatus.json);
      if (a.httpStatus() == null) g.writeNull(); else g.writeNumber(a.httpStatus());
      field(g, F.startTime, rfc3339Millis(a.start()));
      field(g, F.endTime, end);
      field(g, F.durationMs, durationMs);
      field(g, F.billedDurationMs, billed);
      g.writeFieldName(F.coldStart.json);
      g.writeBoolean(a.coldStart());
      field(g, F.coldStartMs, a.coldStartMs());
      field(g, F.queueWaitMs, a.queueWaitMs());
      field(g, F.memoryMiB, a.memoryMiB());
      field(g, F.gibSeconds, Billing.gibSeconds(billed, a.memoryMiB()));
      field(g, F.requestBytes, a.requestBytes());
      field(g, F.responseBytes, a.responseBytes());
      field(g, F.traceId, inv.traceId());
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
    String id = id(inv.id(), a.attempt());
    return record(topic, inv.tenant(), json(a, id), id, TYPE, source);
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
