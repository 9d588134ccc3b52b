package dev.conveyor.engine.tenancy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.testing.ManualTime;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.status.StatusStore;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BacklogTest {
  private final ManualTime time = new ManualTime(Instant.parse("2026-01-01T00:00:00Z"));
  private final StatusStore store = new StatusStore(16 * 1024 * 1024, Duration.ofHours(24), time, null, "status");
  private final Backlog backlog = new Backlog(store, time, id -> !id.startsWith("other"), (t, v) -> { });

  private void accept(String tenant, String id) {
    backlog.accepted(tenant, id);
  }

  private void end(String tenant, String id) {
    Invocation inv = new Invocation(id, tenant, tenant, "f", null, new byte[0], null, Map.of(), time.now(), null, null, null, null);
    InvocationStatus running = InvocationStatus.queued(inv).running(1, time.now());
    store.apply(running, null);
    store.apply(running.attemptEnded(InvocationState.succeeded, time.now(), 5, 200, null), null);
  }

  @Test
  void aTenantIsFullAtMaxQueuedUnfinishedAndFreeAgainWhenOneEnds() {
    for (int i = 0; i < 3; i++) accept("a", "a" + i);
    assertThat(backlog.full("a", 4)).isEmpty();
    assertThat(backlog.full("a", 3)).isPresent();
    assertThat(backlog.full("b", 3)).as("another tenant").isEmpty();
    end("a", "other-replica-1"); // another replica's invocation ending is not ours to count
    assertThat(backlog.queued("a")).isEqualTo(3);
    end("a", "a0");
    assertThat(backlog.queued("a")).isEqualTo(2);
    assertThat(backlog.full("a", 3)).isEmpty();
  }

  @Test
  void retryAfterIsTheTimeToDrainTheExcessAtTheRecentRate() {
    for (int i = 0; i < 40; i++) accept("a", "a" + i);
    assertThat(backlog.full("a", 10)).as("nothing finished lately: the longest wait").hasValue(60);
    // 20 finished within the last 10 s: 2 per second; 20 left over a limit of 10 is 11 over (with the new one): 6 s.
    for (int i = 0; i < 20; i++) {
      time.advance(Duration.ofMillis(400));
      end("a", "a" + i);
    }
    assertThat(backlog.full("a", 10)).hasValue(6);
    // Much later the rate is forgotten again.
    time.advance(Duration.ofMinutes(1));
    assertThat(backlog.full("a", 10)).hasValue(60);
  }

  @Test
  void keyedIdsAcceptedHereAreCountedUntilTheyEndThoughTheyCarryNoTag() {
    String mineKeyed = dev.conveyor.engine.api.InvocationIds.derived("a", "a", "f", "k1", 1, 0, 1);
    String otherKeyed = dev.conveyor.engine.api.InvocationIds.derived("a", "a", "f", "k2", 1, 0, 1);
    accept("a", mineKeyed);
    assertThat(backlog.queued("a")).isEqualTo(1);
    // the tag predicate would call both ours: a keyed id counts only if it was accepted here
    end("a", otherKeyed);
    assertThat(backlog.queued("a")).as("a keyed id another replica accepted").isEqualTo(1);
    end("a", mineKeyed);
    assertThat(backlog.queued("a")).isZero();
  }

  @Test
  void aVoidedIdWasNeverAcceptedSoItsEndCountsForNothing() {
    accept("a", "a0");
    store.apply(dev.conveyor.engine.api.InvocationStatus.voided("a1", "a", time.now(), time.now()), null);
    assertThat(backlog.queued("a")).isEqualTo(1);
  }
}
