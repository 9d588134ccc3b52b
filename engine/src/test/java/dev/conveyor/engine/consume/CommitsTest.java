package dev.conveyor.engine.consume;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.kafka.client.common.TopicPartition;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.consumer.impl.KafkaConsumerRecordImpl;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * An eager rebalance revokes every partition and gives most of them straight back; the new
 * assignment reads again from the last commit the broker took. What finished here since (its outcome
 * stored, its status maybe not read back yet) must not run twice; what was waiting must.
 */
class CommitsTest {
  private static final TopicPartition P0 = new TopicPartition("q", 0);
  private final Commits commits = new Commits();

  private static KafkaConsumerRecord<String, byte[]> rec(int partition, long offset) {
    return new KafkaConsumerRecordImpl<>(new ConsumerRecord<>("q", partition, offset, "id" + offset, new byte[0]));
  }

  @Test
  void aPartitionGivenStraightBackSkipsWhatFinishedHereAndRunsWhatWaited() {
    commits.track(rec(0, 5)).done(); // ended before the revocation, not committed yet
    OffsetTracker.Slot running = commits.track(rec(0, 6)); // its call in flight when the partition was revoked
    commits.track(rec(0, 7)); // waiting for a slot: forgotten at the revocation, never ran
    commits.track(rec(0, 8)).done();

    commits.revoked(Set.of(P0));
    commits.assigned(Set.of(P0));
    running.done(); // it ends after the revocation, before its record is read again

    assertThat(commits.finishedHere(rec(0, 5))).isTrue();
    assertThat(commits.finishedHere(rec(0, 6))).as("ended after the revocation").isTrue();
    assertThat(commits.finishedHere(rec(0, 7))).as("never ran: it runs now").isFalse();
    assertThat(commits.finishedHere(rec(0, 8))).isTrue();
    assertThat(commits.finishedHere(rec(0, 8))).as("read up to where it was: forgotten").isFalse();
    assertThat(commits.finishedHere(rec(0, 9))).isFalse();
  }

  @Test
  void aPartitionGivenToAnotherOwnerIsForgotten() {
    commits.track(rec(0, 5)).done();
    commits.track(rec(1, 3)).done();
    commits.revoked(Set.of(P0, new TopicPartition("q", 1)));
    commits.assigned(Set.of(new TopicPartition("q", 1)));

    assertThat(commits.finishedHere(rec(0, 5))).isFalse();
    assertThat(commits.finishedHere(rec(1, 3))).isTrue();
  }

  @Test
  void recordsOfAPartitionNeverRevokedAreNotSkipped() {
    commits.track(rec(0, 5)).done();
    assertThat(commits.finishedHere(rec(0, 5))).isFalse();
  }
}
