package dev.conveyor.engine.kafka;

import dev.conveyor.engine.config.ConveyorConfig.KafkaSettings;
import dev.conveyor.engine.config.ConveyorConfig.StatusSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/** The topic names of SPEC §6 under the configured prefix, and their creation at start-up. */
public record Topics(String invocations, String status, String usage, String deadletter) {
  /**
   * Largest record on Conveyor's topics. Payloads (6 MiB at most) and kept results (4 MiB at most,
   * base64 in a status record) stay below it, so no accepted invocation can fail to be stored.
   */
  public static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

  public static Topics of(String prefix) {
    return new Topics(prefix + "invocations", prefix + "status", prefix + "usage", prefix + "deadletter");
  }

  public List<String> all() {
    return List.of(invocations, status, usage, deadletter);
  }

  /** Creates what is missing; existing topics are left as they are. */
  public CompletableFuture<Void> create(Admin admin, KafkaSettings kafka, StatusSettings statusSettings) {
    Optional<Short> rf = kafka.replicationFactor() > 0 ? Optional.of(kafka.replicationFactor()) : Optional.empty();
    Optional<Integer> parts = Optional.of(kafka.partitions());
    List<NewTopic> topics = new ArrayList<>();
    Map<String, String> sized = Map.of("max.message.bytes", Integer.toString(MAX_MESSAGE_BYTES));
    topics.add(new NewTopic(invocations, parts, rf).configs(sized));
    // Status is a changelog: compaction keeps the latest state per id, retention bounds its age.
    topics.add(new NewTopic(status, parts, rf).configs(Map.of(
        "max.message.bytes", Integer.toString(MAX_MESSAGE_BYTES),
        "cleanup.policy", "compact,delete",
        "retention.ms", Long.toString(statusSettings.retention().toMillis()),
        "segment.ms", Long.toString(Math.min(statusSettings.retention().toMillis(), 3_600_000L)))));
    topics.add(new NewTopic(usage, parts, rf));
    topics.add(new NewTopic(deadletter, parts, rf).configs(sized));
    CompletableFuture<Void> done = new CompletableFuture<>();
    var result = admin.createTopics(topics).values();
    CompletableFuture<?>[] each = result.values().stream().map(f -> {
      CompletableFuture<Void> one = new CompletableFuture<>();
      f.whenComplete((v, err) -> {
        Throwable cause = err == null ? null : (err.getCause() != null && !(err instanceof TopicExistsException) ? err.getCause() : err);
        if (err == null || cause instanceof TopicExistsException) one.complete(null);
        else one.completeExceptionally(cause);
      });
      return one;
    }).toArray(CompletableFuture[]::new);
    CompletableFuture.allOf(each).whenComplete((v, err) -> {
      if (err == null) done.complete(null);
      else done.completeExceptionally(err);
    });
    return done;
  }
}
