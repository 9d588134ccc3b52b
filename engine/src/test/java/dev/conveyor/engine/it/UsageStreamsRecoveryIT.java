package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.metering.UsageStreams;
import dev.conveyor.engine.testing.Beside;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.TestKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * A replica killed with SIGKILL can leave a usage-rollups RocksDB store that no longer opens (its
 * {@code CURRENT} naming a manifest whose files are gone: the stores run without a write-ahead log).
 * Seen in a crash test: the gateway then failed every start with "Error opening store". The local
 * state is only a cache of the changelogs, so the start rebuilds it instead. A replica that stops
 * leaves the rollups' group, so the next start is not held until its session runs out.
 */
@Beside
class UsageStreamsRecoveryIT {

  private static List<Path> stores(Path state) throws Exception {
    try (Stream<Path> files = Files.walk(state)) {
      return files.filter(p -> Files.isDirectory(p) && p.getParent() != null && p.getParent().getFileName().toString().equals("rocksdb"))
          .toList();
    }
  }

  @Test
  void aStoreThatNoLongerOpensIsRebuiltFromTheChangelogsInsteadOfFailingTheStart() throws Exception {
    String prefix = Gateways.prefix("rocks");
    String usage = prefix + "usage";
    String rollups = prefix + "usage-rollups";
    String application = prefix + "usage-rollups"; // the group's name
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrap()))) {
      admin.createTopics(List.of(new NewTopic(usage, 2, (short) 1), new NewTopic(rollups, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    Path state = Files.createTempDirectory("conveyor-streams");
    UsageStreams first = new UsageStreams(TestKafka.bootstrap(), Map.of(), application, usage, rollups, 1, 1, state).start();
    try {
      await().atMost(Duration.ofSeconds(90)).until(() -> first.streams().state() == KafkaStreams.State.RUNNING && !stores(state).isEmpty());
    } finally {
      first.close();
    }
    // It left the group on close: the next start gets the tasks at once, not after the 10 s session.
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", TestKafka.bootstrap()))) {
      var group = admin.describeConsumerGroups(List.of(application)).all().get(10, TimeUnit.SECONDS).get(application);
      assertThat(group.groupState()).as("the group %s right after close", application).isEqualTo(org.apache.kafka.common.GroupState.EMPTY);
      assertThat(group.members()).isEmpty();
    }
    for (Path store : stores(state)) Files.writeString(store.resolve("CURRENT"), "MANIFEST-999999\n");

    UsageStreams second = new UsageStreams(TestKafka.bootstrap(), Map.of(), application, usage, rollups, 1, 1, state).start();
    try {
      await().atMost(Duration.ofSeconds(90)).until(() -> second.streams().state() == KafkaStreams.State.RUNNING);
    } finally {
      second.close();
    }
  }
}
