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

  private boolean finishedHere(KafkaConsumerRecord<String, byte[]> rec) {
    OffsetTracker.Slot s = commits.before(rec);
    return s != null && s.done;
  }

  @Test
  void aPartitionGivenStraightBackSkipsWhatFinishedHereAndRunsWhatWaited() {
    commits.track(rec(0, 5)).done(); // ended before the revocation, not committed yet
    OffsetTracker.Slot running = commits.track(rec(0, 6)); // its call in flight when the partition was revoked
    commits.track(rec(0, 7)).abandon(); // waiting for a slot: forgotten at the revocation, never ran
    commits.track(rec(0, 8)).done();

    commits.revoked(Set.of(P0));
    commits.assigned(Set.of(P0));
    running.done(); // it ends after the revocation, before its record is read again

    assertThat(finishedHere(rec(0, 5))).isTrue();
    assertThat(finishedHere(rec(0, 6))).as("ended after the revocation").isTrue();
    assertThat(commits.before(rec(0, 7)).abandoned()).as("never ran: it runs now").isTrue();
    assertThat(finishedHere(rec(0, 8))).isTrue();
    assertThat(commits.before(rec(0, 8))).as("read up to where it was: forgotten").isNull();
    assertThat(commits.before(rec(0, 9))).isNull();
  }

  @Test
  void aRecordStillRunningWhenReadAgainHoldsItsNewOffsetUntilItEnds() {
    commits.track(rec(0, 0)).done();
    OffsetTracker.Slot running = commits.track(rec(0, 1));
    commits.track(rec(0, 2)).done();
    commits.revoked(Set.of(P0));
    commits.assigned(Set.of(P0));

    // Read again: the dispatcher chains each new slot to the one it had.
    for (int o = 0; o < 3; o++) {
      OffsetTracker.Slot again = commits.track(rec(0, o));
      commits.before(rec(0, o)).then(again::done);
    }
    assertThat(committable(P0)).as("the running record holds the commit").isEqualTo(1);
    running.done();
    assertThat(committable(P0)).isEqualTo(3);
  }

  /** The offset a commit of {@code tp} would take now. */
  private long committable(TopicPartition tp) {
    return commits.committable(tp);
  }

  @Test
  void aPartitionGivenToAnotherOwnerIsForgotten() {
    commits.track(rec(0, 5)).done();
    commits.track(rec(1, 3)).done();
    commits.revoked(Set.of(P0, new TopicPartition("q", 1)));
    commits.assigned(Set.of(new TopicPartition("q", 1)));

    assertThat(commits.before(rec(0, 5))).isNull();
    assertThat(finishedHere(rec(1, 3))).isTrue();
  }

  @Test
  void recordsOfAPartitionNeverRevokedAreNotSkipped() {
    commits.track(rec(0, 5)).done();
    assertThat(commits.before(rec(0, 5))).isNull();
  }
}
