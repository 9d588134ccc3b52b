package dev.conveyor.engine.testing;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One real KRaft broker for the integration tests of this JVM, started on first use. Test classes
 * keep apart by topic prefix and consumer group, not by broker, so the suite pays the start once.
 */
public final class TestKafka {
  private static EmbeddedKafka broker;

  private TestKafka() {}

  public static synchronized String bootstrap() {
    if (broker == null) {
      try {
        Path dir = Files.createTempDirectory("conveyor-it-kafka");
        broker = new EmbeddedKafka(dir, Ports.free()).start();
        EmbeddedKafka b = broker;
        Runtime.getRuntime().addShutdownHook(new Thread(b::close));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return broker.bootstrapServers();
  }

  /**
   * Waits (up to a minute) until consumer group {@code group} on this broker is stable with
   * {@code members} members, each holding a number of partitions that {@code partitionsEach}
   * accepts: a rebalance still under way would move partitions while a test measures.
   */
  public static void awaitStableGroup(String group, int members, java.util.function.IntPredicate partitionsEach) {
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(java.util.Map.<String, Object>of("bootstrap.servers", bootstrap()))) {
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() -> {
        var g = admin.describeConsumerGroups(java.util.List.of(group)).all().get(10, java.util.concurrent.TimeUnit.SECONDS).get(group);
        return g.groupState() == org.apache.kafka.common.GroupState.STABLE && g.members().size() == members
            && g.members().stream().allMatch(m -> partitionsEach.test(m.assignment().topicPartitions().size()));
      });
    }
  }

  /**
   * Removes every member of these consumer groups now, as their sessions running out would a few
   * seconds later: for a test whose promise is about what a restarted gateway does, not about how
   * long a dead one's partitions stay with it ({@code session.timeout.ms}).
   */
  public static void removeMembers(String... groups) {
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(java.util.Map.<String, Object>of("bootstrap.servers", bootstrap()))) {
      for (String g : groups) {
        var d = admin.describeConsumerGroups(java.util.List.of(g)).all().get(10, java.util.concurrent.TimeUnit.SECONDS).get(g);
        if (d.groupState() == org.apache.kafka.common.GroupState.DEAD) throw new IllegalArgumentException("no consumer group " + g);
        if (d.members().isEmpty()) continue;
        admin.removeMembersFromConsumerGroup(g, new org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions())
            .all().get(10, java.util.concurrent.TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted removing the members of " + java.util.List.of(groups), e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("removing the members of " + java.util.List.of(groups), e);
    }
  }
}
