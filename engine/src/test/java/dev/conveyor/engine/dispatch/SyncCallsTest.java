package dev.conveyor.engine.dispatch;

import static dev.conveyor.engine.testing.ScriptedInvoker.status;
import static dev.conveyor.engine.testing.ScriptedInvoker.timeout;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.dispatch.SyncCalls.Outcome;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.testing.ScriptedInvoker;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A sync call's attempts while its caller waits, on the same stand-ins as the async state machine
 * ({@link DeliveryHarness}): retry 2, backoff 1 s then 2 s, timeout 30 s, the backoff's ceiling drawn.
 */
class SyncCallsTest {
  private final DeliveryHarness h = new DeliveryHarness(DeliveryHarness.delivery(2, Duration.ofSeconds(1)));
  private final AtomicBoolean callerLeft = new AtomicBoolean();

  private Outcome call(Invocation inv) {
    Future<Outcome> f = h.sync.call("acme", h.target, io.opentelemetry.context.Context.root(), inv, callerLeft::get);
    assertThat(h.time.runAll(10_000)).as("the call's timers end").isTrue();
    assertThat(f.succeeded()).as("the call ended: %s", f).isTrue();
    return f.result();
  }

  private static int httpStatus(Outcome o) {
    return ((AttemptResult.Response) ((Outcome.Answered) o).result()).status();
  }

  private List<String> usageIds(Invocation inv) {
    return h.usage(inv.id()).stream().map(u -> u.path("id").asText()).toList();
  }

  @Test
  void aFirstAnswerIsRelayedAndBilledOnceAsSync() {
    h.function.then(status(200, "done"));
    Invocation inv = h.invocation();
    Outcome o = call(inv);
    assertThat(o).isInstanceOf(Outcome.Answered.class);
    assertThat(httpStatus(o)).isEqualTo(200);
    assertThat(((Outcome.Answered) o).attempts()).isEqualTo(1);
    InvocationStatus s = h.status(inv.id());
    assertThat(s.status()).isEqualTo(InvocationState.succeeded);
    assertThat(s.mode()).isEqualTo("sync");
    List<JsonNode> usage = h.usage(inv.id());
    assertThat(usage).hasSize(1);
    assertThat(usage.get(0).path("data").path("mode").asText()).isEqualTo("sync");
    assertThat(h.slots.running("acme")).as("the slot went back").isZero();
  }

  @Test
  void aRetryableAnswerIsRetriedAfterTheBackoffWithinTheWait() {
    h.function.then(status(503)).then(status(200));
    Invocation inv = h.invocation();
    Future<Outcome> f = h.sync.call("acme", h.target, io.opentelemetry.context.Context.root(), inv, callerLeft::get);
    h.time.advance(Duration.ofMillis(20 + 999));
    assertThat(h.function.calls()).as("the second call waits the whole backoff").hasSize(1);
    h.time.runAll(1000);
    assertThat(httpStatus(f.result())).isEqualTo(200);
    assertThat(((Outcome.Answered) f.result()).attempts()).isEqualTo(2);
    assertThat(usageIds(inv)).containsExactly(inv.id() + ":1", inv.id() + ":2");
    assertThat(h.status(inv.id()).attempts()).isEqualTo(2);
  }

  @Test
  void exhaustedRetriesAnswerWithTheLastAnswer() {
    h.function.then(status(500)).then(status(502)).then(status(503));
    Invocation inv = h.invocation();
    Outcome o = call(inv);
    assertThat(httpStatus(o)).isEqualTo(503);
    assertThat(((Outcome.Answered) o).attempts()).isEqualTo(3);
    assertThat(h.status(inv.id()).status()).isEqualTo(InvocationState.failed);
    assertThat(h.deadLetters()).as("the caller has the answer: nothing is dead-lettered").isEmpty();
  }

  @Test
  void aTimeoutSpentTheWaitAndIsNotRetried() {
    h.function.then(timeout(30_000), Duration.ofSeconds(1)); // however early it came, a timeout is not tried again
    Invocation inv = h.invocation();
    Outcome o = call(inv);
    assertThat(((Outcome.Answered) o).result()).isInstanceOf(AttemptResult.Timeout.class);
    assertThat(h.function.calls()).hasSize(1);
  }

  @Test
  void noRetryStartsThatCouldNotEndWithinTheWait() {
    h.function.then(status(503), Duration.ofSeconds(29)); // 29 s + 1 s of backoff leave no useful attempt in 30 s
    Invocation inv = h.invocation();
    Outcome o = call(inv);
    assertThat(httpStatus(o)).isEqualTo(503);
    assertThat(h.function.calls()).hasSize(1);
  }

  @Test
  void theActivatorsAnswersAreWaitedOutAndTheColdStartIsBilledOnce() {
    h.knative(0);
    h.function.then(status(503, ""));
    Invocation inv = h.invocation();
    Future<Outcome> f = h.sync.call("acme", h.target, io.opentelemetry.context.Context.root(), inv, callerLeft::get);
    h.time.advance(Duration.ofMillis(500));
    assertThat(h.usage(inv.id())).as("nothing ran: nothing billed").isEmpty();
    h.knative(1);
    h.function.then(status(200));
    h.time.runAll(1000);
    assertThat(httpStatus(f.result())).isEqualTo(200);
    assertThat(((Outcome.Answered) f.result()).attempts()).isEqualTo(1);
    assertThat(h.status(inv.id()).platformDelays()).isEqualTo(1);
    assertThat(usageIds(inv)).containsExactly(inv.id() + ":1");
    assertThat(h.usage(inv.id()).get(0).path("data").path("coldStart").asBoolean()).isTrue();
  }

  @Test
  void thePlatformBudgetSpentIsKnativesRefusalNotTheFunctions() {
    DeliveryHarness p = new DeliveryHarness(DeliveryHarness.platformBudget(3));
    p.knative(0);
    for (int i = 0; i < 4; i++) p.function.then(status(503, "activator request timeout"), Duration.ofMillis(10));
    Invocation inv = p.invocation();
    Future<Outcome> f = p.sync.call("acme", p.target, io.opentelemetry.context.Context.root(), inv, callerLeft::get);
    p.time.runAll(1000);
    assertThat(f.result()).isInstanceOf(Outcome.PlatformRefused.class);
    assertThat(((Outcome.PlatformRefused) f.result()).attempts()).isZero();
    assertThat(p.function.calls()).as("the first answer and platformRetries 3 more").hasSize(4);
    assertThat(p.usage(inv.id())).isEmpty();
    assertThat(p.status(inv.id()).status()).isEqualTo(InvocationState.failed);
  }

  @Test
  void aCallerWhoLeftGetsNoFurtherAttemptAndTheCallIsCancelled() {
    h.function.then(status(503)).then(status(200));
    Invocation inv = h.invocation();
    Future<Outcome> f = h.sync.call("acme", h.target, io.opentelemetry.context.Context.root(), inv, callerLeft::get);
    callerLeft.set(true); // gone while the first call runs
    h.time.runAll(1000);
    assertThat(f.result()).isInstanceOf(Outcome.CallerLeft.class);
    assertThat(h.function.calls()).hasSize(1);
    assertThat(h.status(inv.id()).status()).isEqualTo(InvocationState.cancelled);
    assertThat(h.slots.running("acme")).isZero();
  }

  @Test
  void aCallerWhoLeftDuringTheBackoffGetsNoFurtherAttempt() {
    h.function.then(status(503)).then(status(200));
    Invocation inv = h.invocation();
    Future<Outcome> f = h.sync.call("acme", h.target, io.opentelemetry.context.Context.root(), inv, callerLeft::get);
    h.time.advance(Duration.ofMillis(500)); // the first call ended; the backoff runs
    callerLeft.set(true);
    h.time.runAll(1000);
    assertThat(f.result()).isInstanceOf(Outcome.CallerLeft.class);
    assertThat(h.function.calls()).hasSize(1);
    assertThat(h.status(inv.id()).status()).isEqualTo(InvocationState.cancelled);
  }

  @Test
  void noSlotWithinTheWaitIsNoSlotAndNoCall() {
    h.tenantMax = 0;
    h.function.then(status(200));
    Outcome o = call(h.invocation());
    assertThat(o).isEqualTo(new Outcome.NoSlot(true, false));
    assertThat(h.function.calls()).isEmpty();
  }

  @Test
  void anOpenBreakerRefusesBeforeAnyCall() {
    h.breakers.of(h.target).transitionToOpenState();
    assertThat(h.sync.paused(h.target)).isTrue();
    h.function.then(status(200));
    assertThat(call(h.invocation())).isInstanceOf(Outcome.CircuitOpen.class);
    assertThat(h.function.calls()).isEmpty();
  }

  @Test
  void theBreakerOpeningDuringTheBackoffLeavesTheLastAnswerStanding() {
    h.function.then(status(503));
    Invocation inv = h.invocation();
    Future<Outcome> f = h.sync.call("acme", h.target, io.opentelemetry.context.Context.root(), inv, callerLeft::get);
    h.time.advance(Duration.ofMillis(20));
    h.breakers.of(h.target).transitionToOpenState();
    h.time.runAll(1000);
    assertThat(httpStatus(f.result())).isEqualTo(503);
    assertThat(((Outcome.Answered) f.result()).attempts()).isEqualTo(1);
    assertThat(h.status(inv.id()).lastError()).isEqualTo("the circuit breaker opened");
  }
}
