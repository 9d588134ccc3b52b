package dev.conveyor.engine.consume;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OffsetTrackerTest {
  @Test
  void shouldCommitOnlyUpToTheLowestUnfinishedRecord() {
    OffsetTracker t = new OffsetTracker();
    var a = t.track(10);
    var b = t.track(11);
    var c = t.track(12);
    c.done();
    assertThat(t.committable()).isEqualTo(10);
    a.done();
    assertThat(t.committable()).isEqualTo(11);
    b.done();
    assertThat(t.committable()).isEqualTo(13);
  }

  @Test
  void shouldOfferAnAdvanceUntilTheBrokerTookIt() {
    OffsetTracker t = new OffsetTracker();
    assertThat(t.advance()).isEqualTo(-1);
    t.track(0).done();
    assertThat(t.advance()).isEqualTo(1);
    assertThat(t.advance()).as("the commit failed: offer it again").isEqualTo(1);
    t.committed(1);
    assertThat(t.advance()).isEqualTo(-1);
    var s = t.track(1);
    assertThat(t.advance()).isEqualTo(-1);
    assertThat(t.inFlight()).isEqualTo(1);
    s.done();
    assertThat(t.advance()).isEqualTo(2);
    t.committed(2);
    assertThat(t.advance()).isEqualTo(-1);
  }

  @Test
  void shouldKeepFinishedRecordsUntilTheBrokerTookACommitPastThem() {
    OffsetTracker t = new OffsetTracker();
    t.track(0).done();
    var running = t.track(1);
    t.track(2).done();
    assertThat(t.committable()).isEqualTo(1);
    assertThat(java.util.Arrays.stream(t.kept()).map(x -> x.offset)).containsExactly(0L, 1L, 2L);
    t.committed(1);
    assertThat(java.util.Arrays.stream(t.kept()).map(x -> x.offset)).as("below the commit: never read again").containsExactly(1L, 2L);
    running.done();
    assertThat(t.committable()).isEqualTo(3);
    t.committed(3);
    assertThat(t.kept()).isEmpty();
    assertThat(t.next()).isEqualTo(3);
  }

  @Test
  void everySlotWaitingOnAnotherIsDoneWhenItIs() {
    OffsetTracker t = new OffsetTracker();
    OffsetTracker.Slot running = t.track(0);
    java.util.List<String> ran = new java.util.ArrayList<>();
    running.then(() -> ran.add("first"));
    running.then(() -> ran.add("second"));
    assertThat(ran).isEmpty();
    running.done();
    running.done();
    assertThat(ran).containsExactly("first", "second");
    running.then(() -> ran.add("after"));
    assertThat(ran).containsExactly("first", "second", "after");
  }
}
