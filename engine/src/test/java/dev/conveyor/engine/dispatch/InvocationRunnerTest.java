package dev.conveyor.engine.dispatch;

import static dev.conveyor.engine.testing.ScriptedInvoker.retryAfter;
import static dev.conveyor.engine.testing.ScriptedInvoker.status;
import static dev.conveyor.engine.testing.ScriptedInvoker.timeout;
import static dev.conveyor.engine.testing.ScriptedInvoker.unreachable;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.queue.InvocationCodec;
import dev.conveyor.engine.testing.RecordLog;
import dev.conveyor.engine.testing.ScriptedInvoker;
import io.vertx.core.Future;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * The state machine of one asynchronous invocation, driven by a manual clock: every transition the
 * integration tests prove against real brokers, here in milliseconds. Backoff draws its ceiling
 * (jitter 1.0) unless a test says otherwise; the function allows 3 attempts (retry 2) and backs off
 * 1 s, 2 s, ... in memory (under the 5 s of the shortest retry tier).
 */
class InvocationRunnerTest {
  private final DeliveryHarness h = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(1)));

  private static List<String> outcomes(List<JsonNode> usage) {
    return usage.stream().map(u -> u.path("data").path("outcome").asText()).toList();
  }

  private static List<String> ids(List<JsonNode> usage) {
    return usage.stream().map(u -> u.path("id").asText()).toList();
  }

  @Test
  void aFirstAnswerOf2xxSucceedsWithOneUsageRecord() {
    h.function.then(status(200, "done"));
    Invocation inv = h.invocation();
    InvocationStatus s = h.deliver(inv);
    assertThat(s.status()).isEqualTo(InvocationState.succeeded);
    assertThat(s.attempts()).isEqualTo(1);
    assertThat(s.httpStatus()).isEqualTo(200);
    assertThat(h.store.get(inv.id()).orElseThrow().result().body()).isEqualTo("done".getBytes());
    assertThat(ids(h.usage(inv.id()))).containsExactly(inv.id() + ":1");
    assertThat(outcomes(h.usage(inv.id()))).containsExactly("success");
    assertThat(h.deadLetters()).isEmpty();
    // Quick calls go from queued to their outcome in one write: no running status was stored.
    assertThat(h.statusRecords(inv.id())).extracting(InvocationStatus::status).containsExactly(InvocationState.running,
        InvocationState.succeeded);
  }

  @Test
  void aRetryableStatusIsRetriedAfterTheBackoffAndEachAttemptHasItsOwnUsageId() {
    h.function.then(status(503)).then(status(200));
    Invocation inv = h.invocation();
    Future<Void> run = h.runner.run(inv, 0, 0);
    h.time.advance(Duration.ofMillis(20)); // the first call ends
    assertThat(h.status(inv.id()).status()).isEqualTo(InvocationState.retrying);
    h.time.advance(Duration.ofMillis(999));
    assertThat(h.function.calls()).as("the second call waits the whole backoff (1 s)").hasSize(1);
    h.time.advance(Duration.ofMillis(1));
    assertThat(h.function.calls()).hasSize(2);
    InvocationStatus s = h.settle(run, inv);
    assertThat(s.status()).isEqualTo(InvocationState.succeeded);
    assertThat(s.attempts()).isEqualTo(2);
    assertThat(h.function.calls()).extracting(ScriptedInvoker.Call::attempt).containsExactly(1, 2);
    assertThat(ids(h.usage(inv.id()))).containsExactly(inv.id() + ":1", inv.id() + ":2");
    assertThat(outcomes(h.usage(inv.id()))).containsExactly("error", "success");
  }

  @Test
  void timeoutsAndUnreachableFunctionsAreRetriedToo() {
    h.function.then(timeout(30_000)).then(unreachable()).then(status(200));
    Invocation inv = h.invocation();
    assertThat(h.deliver(inv).status()).isEqualTo(InvocationState.succeeded);
    assertThat(outcomes(h.usage(inv.id()))).containsExactly("timeout", "error", "success");
  }

  @Test
  void exhaustedAttemptsFailAndDeadLetterWithTheLastError() {
    h.function.then(status(500)).then(status(500)).then(status(502));
    Invocation inv = h.invocation();
    InvocationStatus s = h.deliver(inv);
    assertThat(s.status()).isEqualTo(InvocationState.failed);
    assertThat(s.attempts()).isEqualTo(3);
    assertThat(h.function.calls()).hasSize(3);
    assertThat(h.deadLetters()).hasSize(1);
    ProducerRecord<String, byte[]> dl = h.deadLetters().get(0);
    assertThat(dl.key()).isEqualTo(inv.id());
    assertThat(RecordLog.header(dl, "conveyor-attempts")).isEqualTo("3");
    assertThat(RecordLog.header(dl, "knativeerrorcode")).isEqualTo("502");
    assertThat(RecordLog.header(dl, "knativeerrordata")).isEqualTo("function answered 502");
    assertThat(dl.value()).isEqualTo(inv.payload());
    assertThat(ids(h.usage(inv.id()))).hasSize(3).doesNotHaveDuplicates();
    // Failed as the last answer came (3 calls of 20 ms, backoffs of 1 s and 2 s): no wait after it.
    assertThat(s.finishedAt()).isEqualTo(inv.acceptedAt().plusMillis(3_060));
  }

  @Test
  void aRecordOfAnEndedInvocationRunsNothingAndWaitsForNothing() {
    h.function.then(status(200));
    Invocation inv = h.invocation();
    h.deliver(inv);
    Future<Void> late = h.runner.run(inv, 2, h.time.millis() + 60_000);
    assertThat(late.succeeded()).as("done at once, not after its due time").isTrue();
    assertThat(h.function.calls()).hasSize(1);
  }

  @Test
  void aCopyOfAnEarlierRetryIsDroppedWhileALaterOneIsParked() {
    DeliveryHarness slow = new DeliveryHarness(DeliveryHarness.delivery(3, Duration.ofSeconds(10)));
    slow.function.then(status(503)).then(status(503));
    Invocation inv = slow.invocation();
    slow.runner.run(inv, 0, 0);
    slow.time.advance(Duration.ofMillis(20));
    ProducerRecord<String, byte[]> second = slow.nextParked();
    slow.runner.run(inv, 2, DeliveryHarness.dueAt(second));
    slow.time.runAll(1000);
    assertThat(slow.nextParked()).as("attempt 3 parked").isNotNull();
    slow.runner.run(inv, 2, slow.time.millis()); // the retry router forwarded attempt 2 twice
    slow.time.runAll(1000);
    assertThat(slow.function.calls()).extracting(ScriptedInvoker.Call::attempt).containsExactly(1, 2);
  }

  @Test
  void aParkedRetryBeyondALoweredRetryPolicyFailsWithoutACall() {
    DeliveryHarness slow = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(10)));
    slow.function.then(status(503));
    Invocation inv = slow.invocation();
    slow.runner.run(inv, 0, 0);
    slow.time.advance(Duration.ofMillis(20));
    ProducerRecord<String, byte[]> parked = slow.nextParked();
    var t = slow.target;
    slow.target = new dev.conveyor.engine.functions.FunctionTarget(t.namespace(), t.name(), t.url(), t.memoryMiB(),
        t.concurrency(), DeliveryHarness.delivery(0, Duration.ofSeconds(10)), t.breaker(), null, null);
    InvocationStatus s = slow.settle(slow.runner.run(inv, 2, DeliveryHarness.dueAt(parked)), inv);
    assertThat(s.status()).isEqualTo(InvocationState.failed);
    assertThat(s.lastError()).isEqualTo("function answered 503");
    assertThat(slow.function.calls()).hasSize(1);
    assertThat(slow.deadLetters()).hasSize(1);
  }

  @Test
  void aCancelDuringTheCallWinsOverItsOutcomeAndOwesNoCallback() {
    h.function.then(status(200), Duration.ofSeconds(2));
    Invocation inv = h.invocation("https://hooks.example/done");
    Future<Void> run = h.runner.run(inv, 0, 0);
    h.time.advance(Duration.ofSeconds(1));
    h.kafka.send(h.store.record(h.status(inv.id()).end(InvocationState.cancelled, h.time.now(), "cancelled by the caller"), null));
    h.settle(run, inv);
    assertThat(h.status(inv.id()).status()).isEqualTo(InvocationState.cancelled);
    assertThat(h.statusRecords(inv.id())).extracting(InvocationStatus::status).doesNotContain(InvocationState.succeeded);
    assertThat(h.kafka.on("t.callbacks")).isEmpty();
    assertThat(h.usage(inv.id())).as("the call ran: it is billed").hasSize(1);
  }

  @Test
  void aStatusOutsideRetryOnStatusFailsAtOnce() {
    h.function.then(status(400));
    Invocation inv = h.invocation();
    InvocationStatus s = h.deliver(inv);
    assertThat(s.status()).isEqualTo(InvocationState.failed);
    assertThat(s.attempts()).isEqualTo(1);
    assertThat(h.deadLetters()).hasSize(1);
  }

  @Test
  void anInvocationsOwnCapLowersThePolicysAttempts() {
    h.function.then(status(500)).then(status(500));
    Invocation capped = h.invocation();
    Invocation inv = new Invocation(capped.id(), capped.tenant(), capped.namespace(), capped.function(), capped.contentType(),
        capped.payload(), null, capped.passHeaders(), capped.acceptedAt(), null, null, null, "kafka", 2);
    assertThat(h.deliver(inv).attempts()).isEqualTo(2);
    assertThat(h.function.left()).isZero();
  }

  @Test
  void aLongBackoffParksTheRetryOnATierAndTheOffsetMovesOn() {
    DeliveryHarness slow = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(40)));
    slow.function.then(status(503)).then(status(200));
    Invocation inv = slow.invocation();
    Future<Void> run = slow.runner.run(inv, 0, 0);
    slow.time.advance(Duration.ofMillis(20));
    assertThat(run.succeeded()).as("parked: the queue's record is done with").isTrue();
    ProducerRecord<String, byte[]> parked = slow.nextParked();
    assertThat(parked.topic()).isEqualTo("t.retry.30s"); // the longest tier within 40 s
    assertThat(DeliveryHarness.attempt(parked)).isEqualTo(2);
    Instant due = slow.time.now().plusSeconds(40);
    assertThat(DeliveryHarness.dueAt(parked)).isEqualTo(due.toEpochMilli());
    assertThat(slow.status(inv.id()).parkedUntil()).isEqualTo(due);
    // The retry router hands it back; the dispatcher waits what remains, then runs attempt 2.
    InvocationStatus s = slow.settle(slow.runner.run(InvocationCodec.decode(parked.headers(), parked.value()), 2,
        DeliveryHarness.dueAt(parked)), inv);
    assertThat(s.status()).isEqualTo(InvocationState.succeeded);
    assertThat(slow.function.calls()).extracting(ScriptedInvoker.Call::attempt).containsExactly(1, 2);
    assertThat(slow.time.now()).isAfterOrEqualTo(due);
  }

  @Test
  void aRetryAfterLongerThanTheBackoffIsHonoured() {
    h.function.then(retryAfter(429, "12")).then(status(200));
    Invocation inv = h.invocation();
    h.runner.run(inv, 0, 0);
    h.time.advance(Duration.ofMillis(20));
    ProducerRecord<String, byte[]> parked = h.nextParked();
    assertThat(parked).as("12 s is past the shortest tier").isNotNull();
    assertThat(DeliveryHarness.dueAt(parked)).isEqualTo(h.time.now().plusSeconds(12).toEpochMilli());
  }

  @Test
  void aSecondCopyOfARetryThatRanIsDropped() {
    DeliveryHarness slow = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(10)));
    slow.function.then(status(503)).then(status(200));
    Invocation inv = slow.invocation();
    slow.deliver(inv);
    assertThat(slow.function.calls()).hasSize(2);
    // A crash between the retry router's forward and its commit forwards the record again.
    slow.settle(slow.runner.run(inv, 2, slow.time.millis()), inv);
    slow.settle(slow.runner.run(inv, 0, 0), inv);
    assertThat(slow.function.calls()).as("no call for a copy").hasSize(2);
    assertThat(slow.usage(inv.id())).hasSize(2);
  }

  @Test
  void aRecordRedeliveredWhileItsRetryIsParkedRunsNothing() {
    DeliveryHarness slow = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(10)));
    slow.function.then(status(503));
    Invocation inv = slow.invocation();
    slow.runner.run(inv, 0, 0);
    slow.time.advance(Duration.ofMillis(20));
    // A crash before the queue's offset was committed: the record comes again.
    Future<Void> again = slow.runner.run(inv, 0, 0);
    assertThat(again.succeeded()).isTrue();
    assertThat(slow.function.calls()).hasSize(1);
  }

  @Test
  void anAttemptCutShortByACrashRunsAgainUnderTheSameNumber() {
    h.function.then(status(200));
    Invocation inv = h.invocation();
    // The previous owner stored "running attempt 1" and died before its outcome.
    h.store.apply(InvocationStatus.queued(inv).running(1, h.time.now()), null);
    InvocationStatus s = h.deliver(inv);
    assertThat(s.status()).isEqualTo(InvocationState.succeeded);
    assertThat(s.attempts()).isEqualTo(1);
    assertThat(h.function.calls()).extracting(ScriptedInvoker.Call::attempt).containsExactly(1);
    assertThat(ids(h.usage(inv.id()))).containsExactly(inv.id() + ":1");
  }

  @Test
  void anInterruptedRetryRunsAgainUnderItsNumber() {
    h.function.then(status(200));
    Invocation inv = h.invocation();
    InvocationStatus first = InvocationStatus.queued(inv).running(1, h.time.now())
        .attemptEnded(InvocationState.retrying, h.time.now(), 5, 503, "function answered 503");
    h.store.apply(first.running(2, h.time.now()), null);
    h.deliver(inv);
    h.settle(h.runner.run(inv, 2, 0), inv);
    assertThat(h.function.calls()).extracting(ScriptedInvoker.Call::attempt).containsExactly(2);
    assertThat(h.status(inv.id()).attempts()).isEqualTo(2);
  }

  @Test
  void anInvocationOlderThanMaxEventAgeExpiresWithoutACall() {
    Invocation inv = h.invocation();
    h.time.advance(Duration.ofHours(6).plusMillis(1));
    InvocationStatus s = h.deliver(inv);
    assertThat(s.status()).isEqualTo(InvocationState.expired);
    assertThat(h.function.calls()).isEmpty();
    assertThat(h.usage(inv.id())).isEmpty();
    assertThat(h.deadLetters()).isEmpty();
  }

  @Test
  void anInvocationThatAgesOutWhileRetryingExpiresBeforeItsNextAttempt() {
    DeliveryHarness aging = new DeliveryHarness(new dev.conveyor.engine.config.ConveyorConfig.Delivery(2,
        dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy.exponential, Duration.ofSeconds(1), Duration.ofMinutes(5),
        Duration.ofMillis(500), Duration.ofSeconds(30), 10, java.util.Set.of(503), null, null, null));
    aging.function.then(status(503));
    Invocation inv = aging.invocation();
    assertThat(aging.deliver(inv).status()).isEqualTo(InvocationState.expired);
    assertThat(aging.function.calls()).hasSize(1);
  }

  @Test
  void aCancelDuringTheBackoffStopsTheNextAttempt() {
    h.function.then(status(503));
    Invocation inv = h.invocation();
    Future<Void> run = h.runner.run(inv, 0, 0);
    h.time.advance(Duration.ofMillis(20));
    InvocationStatus cancelled = h.status(inv.id()).end(InvocationState.cancelled, h.time.now(), "cancelled by the caller");
    h.kafka.send(h.store.record(cancelled, null));
    InvocationStatus s = h.settle(run, inv);
    assertThat(s.status()).isEqualTo(InvocationState.cancelled);
    assertThat(h.function.calls()).hasSize(1);
    assertThat(h.deadLetters()).isEmpty();
  }

  @Test
  void aFunctionNoLongerConfiguredIsDeadLettered() {
    Invocation inv = h.invocation();
    h.target = null;
    InvocationStatus s = h.deliver(inv);
    assertThat(s.status()).isEqualTo(InvocationState.failed);
    assertThat(s.lastError()).contains("no longer configured");
    assertThat(h.deadLetters()).singleElement().extracting(ProducerRecord::topic).isEqualTo("t.deadletter");
  }

  @Test
  void anOpenBreakerHoldsTheInvocationWithoutSpendingAnAttempt() {
    DeliveryHarness b = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(1)),
        new BreakerSpec(50, 4, Duration.ofSeconds(2)), Duration.ZERO, () -> 1.0);
    b.breakers.of(b.target).transitionToOpenState();
    b.function.then(status(200));
    Invocation inv = b.invocation();
    Future<Void> run = b.runner.run(inv, 0, 0);
    b.time.advance(Duration.ofMillis(1999));
    assertThat(b.function.calls()).as("no call while open").isEmpty();
    InvocationStatus s = b.settle(run, inv);
    assertThat(s.status()).isEqualTo(InvocationState.succeeded);
    assertThat(s.attempts()).as("the wait spent no attempt").isEqualTo(1);
  }

  @Test
  void aLongOpenBreakerParksTheInvocationOnATier() {
    DeliveryHarness b = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(1)),
        new BreakerSpec(50, 4, Duration.ofSeconds(30)), Duration.ZERO, () -> 1.0);
    b.breakers.of(b.target).transitionToOpenState();
    Invocation inv = b.invocation();
    b.runner.run(inv, 0, 0);
    ProducerRecord<String, byte[]> parked = b.nextParked();
    assertThat(parked.topic()).isEqualTo("t.retry.30s");
    assertThat(DeliveryHarness.attempt(parked)).as("the same attempt, not yet made").isEqualTo(1);
    assertThat(b.status(inv.id()).status()).isEqualTo(InvocationState.queued);
  }

  @Test
  void theActivatorsAnswersAtZeroSpendNoAttemptAndTheColdStartIsBilledOnce() {
    h.knative(0);
    h.function.then(status(503, "")).then(status(503, ""));
    Invocation inv = h.invocation();
    Future<Void> run = h.runner.run(inv, 0, 0);
    h.time.advance(Duration.ofSeconds(3)); // two platform answers and their backoff
    assertThat(h.usage(inv.id())).as("nothing ran: nothing billed").isEmpty();
    h.knative(1);
    h.function.then(status(200));
    InvocationStatus s = h.settle(run, inv);
    assertThat(s.status()).isEqualTo(InvocationState.succeeded);
    assertThat(s.attempts()).isEqualTo(1);
    assertThat(s.platformDelays()).isEqualTo(2);
    assertThat(h.function.calls()).extracting(ScriptedInvoker.Call::attempt).containsExactly(1, 1, 1);
    assertThat(h.function.calls().get(2).timeoutMs()).as("still the cold start's call, though a pod is ready now")
        .isEqualTo(305_000);
    List<JsonNode> usage = h.usage(inv.id());
    assertThat(ids(usage)).containsExactly(inv.id() + ":1");
    assertThat(usage.get(0).path("data").path("coldStart").asBoolean()).isTrue();
    assertThat(usage.get(0).path("data").path("coldStartMs").asLong()).as("the wait since the first platform answer")
        .isGreaterThanOrEqualTo(1000);
  }

  @Test
  void theColdAttemptGetsTheRevisionsTimeoutSeconds() {
    h.knative(0);
    h.function.then(status(200));
    h.deliver(h.invocation());
    assertThat(h.function.calls().get(0).timeoutMs()).as("300 s and the margin, not the function's 30 s").isEqualTo(305_000);
  }

  @Test
  void thePlatformBudgetSpentFailsWithoutAUsageRecord() {
    DeliveryHarness p = new DeliveryHarness(DeliveryHarness.platformBudget(3));
    p.knative(0);
    for (int i = 0; i < 4; i++) p.function.then(status(503, "activator request timeout"), Duration.ofMillis(10));
    Invocation inv = p.invocation();
    InvocationStatus s = p.deliver(inv);
    assertThat(s.status()).isEqualTo(InvocationState.failed);
    assertThat(s.lastError()).contains("gave up after 4 such answers (platformRetries 3)");
    assertThat(p.function.calls()).hasSize(4);
    assertThat(p.usage(inv.id())).isEmpty();
    assertThat(p.deadLetters()).hasSize(1);
  }

  @Test
  void queueProxysFullQueueOnAWarmRevisionIsThePlatformsToo() {
    h.knative(2);
    h.function.then(status(503, "pending request queue full\n")).then(status(200));
    Invocation inv = h.invocation();
    InvocationStatus s = h.deliver(inv);
    assertThat(s.attempts()).isEqualTo(1);
    assertThat(s.platformDelays()).isEqualTo(1);
    assertThat(s.coldStart()).as("overloaded, not cold").isFalse();
    assertThat(h.usage(inv.id())).hasSize(1);
  }

  @Test
  void aCallbackIsStoredBeforeTheFinalStatus() {
    h.function.then(status(200, "ok"));
    Invocation inv = h.invocation("https://hooks.example/done");
    h.deliver(inv);
    List<ProducerRecord<String, byte[]>> all = h.kafka.all();
    int callback = -1;
    int terminal = -1;
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).topic().equals("t.callbacks")) callback = i;
      if (all.get(i).topic().equals("t.status")) terminal = i;
    }
    assertThat(callback).as("a callback record").isNotNegative();
    assertThat(callback).as("owed before the final status: a crash may repeat it, never lose it").isLessThan(terminal);
  }

  @Test
  void storesThatFailAreRetriedUntilKafkaTakesThemAndTheOutcomeIsStoredOnce() {
    h.function.then(status(200));
    Invocation inv = h.invocation();
    h.kafka.fail(r -> true); // the broker is down from the start
    Future<Void> run = h.runner.run(inv, 0, 0);
    h.time.advance(Duration.ofSeconds(5));
    assertThat(run.isComplete()).as("nothing is done before Kafka has it").isFalse();
    assertThat(h.kafka.failures()).isGreaterThan(5);
    h.kafka.heal();
    InvocationStatus s = h.settle(run, inv);
    assertThat(s.status()).isEqualTo(InvocationState.succeeded);
    assertThat(h.usage(inv.id())).hasSize(1);
    assertThat(h.statusRecords(inv.id())).filteredOn(x -> x.status().terminal()).hasSize(1);
  }

  @Test
  void stoppingAbandonsTheWaitsAndLeavesTheOffsetUncommitted() {
    h.function.then(status(503));
    Invocation inv = h.invocation();
    Future<Void> run = h.runner.run(inv, 0, 0);
    h.time.advance(Duration.ofMillis(20)); // now in its 1 s backoff
    h.runner.stop();
    assertThat(run.failed()).as("failed: the dispatcher does not commit it, Kafka redelivers it").isTrue();
  }

  @Test
  void theRunningStatusIsStoredOnlyForCallsThatLastRunningStatusAfter() {
    DeliveryHarness r = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(1)),
        new BreakerSpec(50, 20, Duration.ofSeconds(30)), Duration.ofMillis(500), () -> 1.0);
    r.function.then(status(200), Duration.ofMillis(100));
    Invocation quick = r.invocation();
    r.deliver(quick);
    assertThat(r.statusRecords(quick.id())).extracting(InvocationStatus::status).containsExactly(InvocationState.succeeded);
    r.function.then(status(200), Duration.ofSeconds(2));
    Invocation slow = r.invocation();
    Future<Void> run = r.runner.run(slow, 0, 0);
    r.time.advance(Duration.ofMillis(600));
    assertThat(r.status(slow.id()).status()).as("shown running while it runs").isEqualTo(InvocationState.running);
    r.settle(run, slow);
    assertThat(r.statusRecords(slow.id())).extracting(InvocationStatus::status).containsExactly(InvocationState.running,
        InvocationState.succeeded);
  }

  @Test
  void aVoidedIdIsSettledAtOnceAndStored() {
    Invocation inv = h.invocation();
    Future<Void> v = h.runner.voided(inv.id(), "acme");
    assertThat(v.succeeded()).isTrue();
    assertThat(h.status(inv.id()).status()).isEqualTo(InvocationState.voided);
    h.deliver(inv);
    assertThat(h.function.calls()).as("a copy read later is dropped").isEmpty();
  }
}
