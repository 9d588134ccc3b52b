package dev.conveyor.engine.metering;

import dev.conveyor.engine.time.Time;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.engine.kafka.KafkaSender;
import io.vertx.core.Future;
import java.time.Instant;

/**
 * Corrections to usage, as new events on {@code conveyor.usage} (docs/metering.md, "Corrections": history is never
 * edited): {@code dev.conveyor.invocation.usage.adjustment.v1} with {@code data.originalId}, and
 * {@code action: void} (the original counts for nothing) or {@code action: delta} with the
 * amounts to add (usually negative). Same key (the tenant) and source as usage records, so billing
 * systems reading the topic see them in order with the records they correct.
 */
public final class UsageAdjustments {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final KafkaSender sender;
  private final String topic;
  private final String source;
  private final Time clock;

  public UsageAdjustments(KafkaSender sender, String topic, String source, Time clock) {
    this.sender = sender;
    this.topic = topic;
    this.source = source;
    this.clock = clock;
  }

  /** Stores the adjustment {@code id} (acks=all); {@code delta} only with {@code action: delta}. */
  public Future<Void> write(String id, String tenant, String originalId, String action, ObjectNode delta, String reason) {
    try {
      return sender.send(UsageEmitter.record(topic, event(id, tenant, originalId, action, delta, reason))).mapEmpty();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  /** The adjustment as a CloudEvent (structured JSON). */
  public ObjectNode event(String id, String tenant, String originalId, String action, ObjectNode delta, String reason) {
    ObjectNode ce = JSON.createObjectNode();
    ce.put("specversion", "1.0");
    ce.put("type", UsageRollupTopology.ADJUSTMENT);
    ce.put("source", source);
    ce.put("id", id);
    ce.put("subject", tenant);
    ce.put("time", UsageEmitter.rfc3339Millis(clock.now()));
    ce.put("datacontenttype", "application/json");
    ce.put("partitionkey", tenant);
    ObjectNode d = ce.putObject("data");
    d.put("tenant", tenant);
    d.put("originalId", originalId);
    d.put("action", action);
    if (delta != null) d.set("delta", delta);
    if (reason != null) d.put("reason", reason);
    return ce;
  }
}
