package dev.conveyor.engine.kafka;

import dev.conveyor.engine.futures.Futures;
import dev.conveyor.engine.config.ConveyorConfig.KafkaSettings;
import dev.conveyor.engine.config.ConveyorConfig.StatusSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Conveyor's topic names under the configured prefix, and their creation at start-up. Retry
 * tiers hold invocations whose next attempt is further away than the first tier: each tier delays
 * every record by the same time, so its records come due in the order they were written.
 */
public record Topics(String invocations, String status, String usage, String deadletter, String callbacks,
    String connectors, String usageRollups, String warmUp, List<Tier> retryTiers, String budgetEvents) {
  /** A retry topic whose records are held {@code delay} after they were written. */
  public record Tier(String topic, Duration delay) {}

  private static final List<Duration> TIER_DELAYS = List.of(Duration.ofSeconds(5), Duration.ofSeconds(30),
      Duration.ofMinutes(2), Duration.ofMinutes(10), Duration.ofHours(1));

  /**
   * Largest record on Conveyor's topics. Payloads (6 MiB at most) and kept results (4 MiB at most,
   * base64 in a status record) stay below it, so no accepted invocation can fail to be stored.
   */
  public static final int MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

  public static Topics of(String prefix) {
    List<Tier> tiers = new ArrayList<>();
    for (Duration d : TIER_DELAYS) {
      tiers.add(new Tier(prefix + "retry." + (d.toHours() > 0 ? d.toHours() + "h" : d.toMinutes() > 0 ? d.toMinutes() + "m"
          : d.toSeconds() + "s"), d));
    }
    return new Topics(prefix + "invocations", prefix + "status", prefix + "usage", prefix + "deadletter", prefix + "callbacks",
        prefix + "connectors", prefix + "usage-rollups", prefix + "warmup",
        List.copyOf(tiers), prefix + "budget-events");
  }

  /** Waits shorter than this stay in the dispatcher's memory (they hold an offset only briefly). */
  public Duration shortestTier() {
    return retryTiers.get(0).delay();
  }

  /** The longest tier not longer than {@code remaining}. */
  public Tier tierFor(Duration remaining) {
    Tier best = retryTiers.get(0);
    for (Tier t : retryTiers) {
      if (t.delay().compareTo(remaining) <= 0) best = t;
    }
    return best;
  }

  public Optional<Tier> tier(String topic) {
    return retryTiers.stream().filter(t -> t.topic().equals(topic)).findFirst();
  }

  /** Creates what is missing (also {@code destinations}, the functions' destination topics); existing topics are left as they are. */
  public CompletableFuture<Void> create(Admin admin, KafkaSettings kafka, StatusSettings statusSettings, java.util.Collection<String> destinations) {
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
    // Callbacks and URL destinations waiting to be POSTed (see CallbackDispatcher).
    topics.add(new NewTopic(callbacks, parts, rf).configs(sized));
    // Hourly usage per tenant and function (UsageRollupTopology): the latest totals per key.
    topics.add(new NewTopic(usageRollups, parts, rf).configs(Map.of("cleanup.policy", "compact")));
    // Budget threshold events (CloudEvents, key = tenant) for billing and alerting systems to read.
    topics.add(new NewTopic(budgetEvents, parts, rf));
    // Connectors' own state (a schedule's last tick, ...): the latest value per key, kept forever.
    topics.add(new NewTopic(connectors, Optional.of(1), rf).configs(Map.of("cleanup.policy", "compact")));
    // What a starting replica writes while it warms up (WarmUp): nobody reads it; ten minutes or 64 MiB a partition.
    topics.add(new NewTopic(warmUp, parts, rf).configs(Map.of(
        "retention.ms", "600000", "segment.ms", "600000", "retention.bytes", Integer.toString(64 << 20),
        "segment.bytes", Integer.toString(16 << 20))));
    for (Tier t : retryTiers) topics.add(new NewTopic(t.topic(), parts, rf).configs(sized));
    for (String d : new java.util.TreeSet<>(destinations)) topics.add(new NewTopic(d, parts, rf).configs(sized));
    CompletableFuture<Void> done = new CompletableFuture<>();
    var result = admin.createTopics(topics).values();
    CompletableFuture<?>[] each = result.values().stream().map(f -> {
      CompletableFuture<Void> one = new CompletableFuture<>();
      Futures.jdk(f).whenComplete((v, err) -> {
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
