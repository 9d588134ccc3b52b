package dev.conveyor.engine.status;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.testing.ManualTime;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatusStoreTest {
  private final ManualTime time = new ManualTime(Instant.parse("2026-01-01T00:00:00Z"));
  private final StatusStore store = new StatusStore(16 * 1024 * 1024, Duration.ofHours(24), time, null, "status");

  private Invocation inv(String id, String key) {
    return new Invocation(id, "acme", "acme", "echo", null, new byte[0], null, Map.of(), time.now(), key, null, null, null);
  }

  @Test
  void shouldApplyNewerVersionsAndIgnoreOlderOnes() {
    InvocationStatus queued = InvocationStatus.queued(inv("a", null));
    InvocationStatus running = queued.running(1, time.now());
    assertThat(store.apply(running, null)).isTrue();
    assertThat(store.apply(queued, null)).isFalse();
    assertThat(store.get("a").orElseThrow().status().status()).isEqualTo(InvocationState.running);
  }

  @Test
  void shouldNeverReplaceATerminalStatus() {
    InvocationStatus queued = InvocationStatus.queued(inv("b", null));
    InvocationStatus cancelled = queued.end(InvocationState.cancelled, time.now(), "cancelled");
    InvocationStatus running = queued.running(1, time.now());
    InvocationStatus succeeded = running.attemptEnded(InvocationState.succeeded, time.now(), 5, 200, null);
    store.apply(cancelled, null);
    assertThat(store.apply(running, null)).isFalse();
    assertThat(store.apply(succeeded, null)).isFalse();
    assertThat(store.get("b").orElseThrow().status().status()).isEqualTo(InvocationState.cancelled);
  }

  @Test
  void shouldTellATerminalStatusFromItsFlagsAsGetWould() {
    InvocationStatus queued = InvocationStatus.queued(inv("t", null));
    assertThat(store.isTerminal("t")).as("unknown").isFalse();
    store.acceptedHere(queued);
    assertThat(store.isTerminal("t")).as("accepted here").isFalse();
    store.apply(queued.running(1, time.now()), null);
    assertThat(store.isTerminal("t")).as("running").isFalse();
    store.apply(queued.end(InvocationState.cancelled, time.now(), "cancelled"), null);
    assertThat(store.isTerminal("t")).as("cancelled").isTrue();
    assertThat(store.isTerminal("t")).isEqualTo(store.get("t").orElseThrow().status().status().terminal());
  }

  @Test
  void shouldLetATerminalStatusWinATieWithAnAttempt() {
    InvocationStatus queued = InvocationStatus.queued(inv("c", null));
    store.apply(queued.running(1, time.now()), null);
    assertThat(store.apply(queued.end(InvocationState.cancelled, time.now(), null), null)).isTrue();
  }

  @Test
  void shouldRememberIdempotencyKeysForTheWindowOnly() {
    store.apply(InvocationStatus.queued(inv("d", "k1")), null);
    assertThat(store.idempotent("acme", "acme", "echo", "k1")).contains("d");
    assertThat(store.idempotent("acme", "acme", "other", "k1")).isEmpty();
    assertThat(store.idempotent("globex", "acme", "echo", "k1")).isEmpty();
    time.advance(Duration.ofHours(25));
    assertThat(store.idempotent("acme", "acme", "echo", "k1")).isEmpty();
  }

  @Test
  void shouldGiveBackWhatItHoldsAndKeepTheLastResultThroughAChangeWithoutOne() {
    InvocationStatus queued = InvocationStatus.queued(inv("e", null));
    InvocationStatus retrying = queued.running(1, time.now()).attemptEnded(InvocationState.retrying, time.now(), 7, 503, "busy");
    StoredResult busy = new StoredResult(503, "text/plain", "busy".getBytes(StandardCharsets.UTF_8));
    store.apply(retrying, busy);
    StatusStore.Entry held = store.get("e").orElseThrow();
    assertThat(held.status()).isEqualTo(retrying);
    assertThat(held.result().httpStatus()).isEqualTo(503);
    assertThat(held.result().body()).asString(StandardCharsets.UTF_8).isEqualTo("busy");
    InvocationStatus second = retrying.running(2, time.now());
    assertThat(store.apply(second, null)).isTrue();
    held = store.get("e").orElseThrow();
    assertThat(held.status()).isEqualTo(second);
    assertThat(held.result()).as("the first attempt's result, until another replaces it").isNotNull();
    assertThat(held.result().body()).asString(StandardCharsets.UTF_8).isEqualTo("busy");
    assertThat(store.get("unknown")).isEmpty();
  }

  @Test
  void aWaiterIsCalledOnceWhenTheStatusItWaitsForArrivesOrAtOnceIfItIsThere() {
    java.util.List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
    InvocationStatus queued = InvocationStatus.queued(inv("w", null));
    store.await("w", st -> st.status().terminal(), e -> calls.add("terminal " + e.status().status()));
    store.await("w", st -> true, e -> calls.add("any " + e.status().status()));
    Runnable forgotten = store.await("w", st -> true, e -> calls.add("forgotten"));
    forgotten.run();
    assertThat(calls).isEmpty();
    store.apply(queued.running(1, time.now()), null);
    assertThat(calls).containsExactly("any running");
    store.apply(queued.running(1, time.now()).attemptEnded(InvocationState.succeeded, time.now(), 5, 200, null), null);
    assertThat(calls).containsExactly("any running", "terminal succeeded");
    store.await("w", st -> true, e -> calls.add("late " + e.status().status()));
    assertThat(calls).as("already there: called at once").containsExactly("any running", "terminal succeeded", "late succeeded");
  }

  @Test
  void anAcceptHereIsSeenUntilALaterStatusOrANewerAcceptInItsSlot() {
    InvocationStatus queued = InvocationStatus.queued(inv("r", null));
    store.acceptedHere(queued);
    assertThat(store.get("r").orElseThrow().status()).isEqualTo(queued);
    InvocationStatus running = queued.running(1, time.now());
    store.apply(running, null);
    assertThat(store.get("r").orElseThrow().status()).as("a status read from the topic comes first").isEqualTo(running);
    // another id in the same slot of the table replaces it
    String a = "slot-a";
    String b = java.util.stream.IntStream.range(0, 1_000_000).mapToObj(i -> "slot-" + i)
        .filter(x -> !x.equals(a) && (x.hashCode() & (StatusStore.RECENT - 1)) == (a.hashCode() & (StatusStore.RECENT - 1)))
        .findFirst().orElseThrow();
    store.acceptedHere(InvocationStatus.queued(inv(a, null)));
    store.acceptedHere(InvocationStatus.queued(inv(b, null)));
    assertThat(store.get(a)).as("lossy: a newer accept took its slot").isEmpty();
    assertThat(store.get(b).orElseThrow().status().id()).isEqualTo(b);
    assertThat(store.get("never")).isEmpty();
  }

  @Test
  void mintedIdsAreKeyedAsUuidsAndAnythingElseAsItself() {
    for (int i = 0; i < 1000; i++) {
      String id = dev.conveyor.engine.api.InvocationIds.next(time.millis() + i);
      assertThat(StatusStore.cacheKey(id)).isEqualTo(java.util.UUID.fromString(id));
    }
    String id = dev.conveyor.engine.api.InvocationIds.next(time.millis());
    for (String other : new String[] {id.toUpperCase(java.util.Locale.ROOT), "id-1", id.replace('-', '_'), id.substring(1) + "g",
        id + "0", ""}) {
      assertThat(StatusStore.cacheKey(other)).as(other).isEqualTo(other);
    }
  }

  @Test
  void aStatusUnderAMintedIdIsFoundByThatIdOnly() {
    String id = dev.conveyor.engine.api.InvocationIds.next(time.millis());
    InvocationStatus queued = InvocationStatus.queued(inv(id, null));
    InvocationStatus running = queued.running(1, time.now());
    assertThat(store.apply(running, null)).isTrue();
    assertThat(store.apply(queued, null)).isFalse();
    assertThat(store.get(id).orElseThrow().status()).isEqualTo(running);
    assertThat(store.get(id.toUpperCase(java.util.Locale.ROOT))).isEmpty();
    InvocationStatus upper = InvocationStatus.queued(inv(id.toUpperCase(java.util.Locale.ROOT), null));
    assertThat(store.apply(upper, null)).as("another id, another entry").isTrue();
    assertThat(store.get(id).orElseThrow().status()).isEqualTo(running);
  }

  @Test
  void entriesUnderMintedIdsAreWeighedAtTheirArrayAndAbout140BytesBesideIt() {
    long maxBytes = 64 * 1024;
    StatusStore small = new StatusStore(maxBytes, Duration.ofHours(24), time, null, "status");
    String first = dev.conveyor.engine.api.InvocationIds.next(time.millis());
    long entryBytes = StatusCodec.encode(InvocationStatus.queued(inv(first, null)), null).length + 9 + 140;
    String last = null;
    for (int i = 0; i < 5_000; i++) {
      last = dev.conveyor.engine.api.InvocationIds.next(time.millis() + i);
      small.apply(InvocationStatus.queued(inv(last, null)), null);
      assertThat(small.size()).isLessThanOrEqualTo(maxBytes / entryBytes);
    }
    assertThat(small.size()).as("filled to its bound, give or take its sampling").isGreaterThan(maxBytes / entryBytes * 9 / 10);
    assertThat(small.get(last)).as("the newest entry").isPresent();
  }

  @Test
  void shouldStayWithinItsBoundAfterEveryWriteWithoutAnotherThread() {
    long maxBytes = 64 * 1024;
    StatusStore small = new StatusStore(maxBytes, Duration.ofHours(24), time, null, "status");
    long entryBytes = StatusCodec.encode(InvocationStatus.queued(inv("id-00000", null)), null).length + 200;
    for (int i = 0; i < 10_000; i++) {
      small.apply(InvocationStatus.queued(inv(String.format("id-%05d", i), null)), null);
      // Eviction runs on the writing thread: the bound holds as each write returns, not some time later.
      assertThat(small.size()).isLessThanOrEqualTo(maxBytes / entryBytes);
    }
    assertThat(small.get("id-09999")).as("the newest entry").isPresent();
  }

  @Test
  void anAcceptsQueuedStatusIsStoredBesideTheIdsOwnRecordSoCompactionNeverKeepsItInsteadOfTheEnd() throws Exception {
    var producer = new org.apache.kafka.clients.producer.MockProducer<String, byte[]>(true, null,
        new org.apache.kafka.common.serialization.StringSerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer());
    try (var sender = new dev.conveyor.engine.kafka.KafkaSender(producer)) {
      StatusStore writing = new StatusStore(16 * 1024 * 1024, Duration.ofHours(24), time, sender, "status");
      InvocationStatus queued = InvocationStatus.queued(inv("k", "order-1"));
      InvocationStatus succeeded = queued.running(1, time.now()).attemptEnded(InvocationState.succeeded, time.now(), 5, 200, null);
      writing.write(succeeded, null).toCompletionStage().toCompletableFuture().get();
      // a retry of the key stored its copy after the first ended, and the accept's queued status with it
      writing.writeAccepted(queued).toCompletionStage().toCompletableFuture().get();
      assertThat(producer.history()).extracting(r -> r.key()).containsExactly("k", "k" + StatusStore.ACCEPTED_SUFFIX);
      // What compaction keeps is the latest record per key: both. Replayed in either order, the end stands.
      for (var order : java.util.List.of(producer.history(), java.util.List.of(producer.history().get(1), producer.history().get(0)))) {
        StatusStore replica = new StatusStore(16 * 1024 * 1024, Duration.ofHours(24), time, null, "status");
        for (var r : order) {
          StatusCodec.Envelope e = replica.read(r.value(), null);
          replica.apply(e.status(), e.result(), false, r.value());
        }
        assertThat(replica.get("k").orElseThrow().status().status()).isEqualTo(InvocationState.succeeded);
        assertThat(replica.idempotent("acme", "acme", "echo", "order-1")).hasValue("k");
      }
    }
  }
}
