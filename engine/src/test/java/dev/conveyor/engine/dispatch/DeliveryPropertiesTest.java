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
import dev.conveyor.engine.config.ConveyorConfig.BackoffPolicy;
import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import dev.conveyor.engine.invoke.AttemptResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The delivery state machine's invariants over random runs: each seed draws a policy (retries,
 * backoff from milliseconds to tier-parked minutes, max event age, platform budget), a function
 * (plain, or a Knative revision at zero or warm), a sequence of answers (success, retryable and final
 * statuses, {@code Retry-After}, timeouts, unreachable, the Activator's and queue-proxy's own 503s),
 * an outage of Kafka that heals, and perhaps a cancel at a random moment. Whatever was drawn:
 *
 * <ul>
 *   <li>the invocation ends terminal;
 *   <li>a terminal status, once stored, is never replaced by another;
 *   <li>never more attempts than the policy allows, and never more calls than attempts plus the
 *       platform budget's answers;
 *   <li>one usage record per attempt, with its own id ({@code id:1} to {@code id:n}, none twice);
 *   <li>what a replica replaying the compacted status topic shows is that terminal status;
 *   <li>exactly one dead letter when it failed, none otherwise.
 * </ul>
 *
 * A failing seed is printed in the test's name; run it alone with {@code -Dtest=DeliveryPropertiesTest}
 * and the seed in {@link #seeds}.
 */
class DeliveryPropertiesTest {
  static LongStream seeds() {
    return LongStream.rangeClosed(1, 300);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void everyRunEndsTerminalWithOneUsageIdPerAttemptAndNoTerminalReplaced(long seed) {
    Random r = new Random(seed);
    int retry = r.nextInt(5);
    Duration backoff = List.of(Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofMinutes(10))
        .get(r.nextInt(4));
    Duration maxAge = r.nextInt(4) == 0 ? Duration.ofSeconds(5 + r.nextInt(60)) : Duration.ofHours(6);
    int platformRetries = r.nextInt(4);
    Delivery policy = new Delivery(retry, r.nextBoolean() ? BackoffPolicy.exponential : BackoffPolicy.linear, backoff,
        Duration.ofMinutes(30), maxAge, Duration.ofSeconds(30), platformRetries, Set.of(429, 500, 502, 503, 504), null, null, null);
    DeliveryHarness h = new DeliveryHarness(policy, new BreakerSpec(50, 20, Duration.ofSeconds(30)), Duration.ofMillis(500),
        r::nextDouble);
    int knative = r.nextInt(3); // 0: a plain URL; 1: a revision at zero; 2: a warm revision
    if (knative > 0) h.knative(knative - 1);

    int scripted = 40;
    for (int i = 0; i < scripted; i++) h.function.then(answer(r, knative > 0), Duration.ofMillis(1 + r.nextInt(5_000)));

    Invocation inv = h.invocation();
    if (r.nextInt(3) == 0) { // Kafka down for a while, from a random moment
      long from = r.nextInt(10_000);
      long healAfter = 1 + r.nextInt(60_000);
      h.time.setTimer(Math.max(1, from), () -> {
        h.kafka.fail(x -> true);
        h.time.setTimer(healAfter, h.kafka::heal);
      });
    }
    if (r.nextInt(5) == 0) { // a caller cancels at a random moment, if it has not ended by then
      h.time.setTimer(1 + r.nextInt(120_000), () -> {
        InvocationStatus now = h.store.get(inv.id()).map(e -> e.status()).orElse(null);
        if (now != null && !now.status().terminal()) {
          h.kafka.send(h.store.record(now.end(InvocationState.cancelled, h.time.now(), "cancelled by the caller"), null));
        }
      });
    }

    InvocationStatus end = h.deliver(inv);

    assertThat(end.status().terminal()).as("ends terminal: %s", end).isTrue();
    List<InvocationStatus> written = h.statusRecords(inv.id());
    InvocationState firstTerminal = written.stream().map(InvocationStatus::status).filter(InvocationState::terminal).findFirst()
        .orElseThrow();
    assertThat(h.statusRecords(inv.id(), inv.id())).extracting(InvocationStatus::status)
        .as("under the id's own key: terminal statuses only, and only the first one's state").containsOnly(firstTerminal);
    assertThat(end.status()).isEqualTo(firstTerminal);
    assertThat(h.afterCompaction(inv.id()).status()).as("what a replica replaying the compacted topic shows")
        .isEqualTo(firstTerminal);

    assertThat(end.attempts()).as("attempts within the policy").isLessThanOrEqualTo(retry + 1);
    int platformAnswers = knative > 0 ? (retry + 1) * (platformRetries + 1) : 0;
    assertThat(h.function.calls().size()).as("calls: attempts and the platform's answers")
        .isLessThanOrEqualTo(retry + 1 + platformAnswers);
    assertThat(h.function.calls()).allSatisfy(c -> assertThat(c.attempt()).isBetween(1, retry + 1));

    List<String> ids = new ArrayList<>();
    for (JsonNode u : h.usage(inv.id())) ids.add(u.path("id").asText());
    // A cancel stored while the last attempt waited on the platform's answer keeps that attempt's
    // number, though the platform's answer bills nothing: only then is the last one unbilled.
    int billed = end.status() == InvocationState.cancelled ? ids.size() : end.attempts();
    assertThat(billed).isBetween(end.attempts() - 1, end.attempts());
    assertThat(ids).as("one usage record per attempt, each its own").doesNotHaveDuplicates()
        .containsExactlyInAnyOrderElementsOf(IntStream.rangeClosed(1, billed).mapToObj(n -> inv.id() + ":" + n).toList());

    assertThat(h.deadLetters()).as("a dead letter for a failure, and only then")
        .hasSize(end.status() == InvocationState.failed ? 1 : 0);
  }

  private static AttemptResult answer(Random r, boolean knative) {
    int pick = r.nextInt(knative ? 11 : 9);
    return switch (pick) {
      case 0, 1, 2 -> status(200, "done");
      case 3 -> status(500);
      case 4 -> status(503, "busy");
      case 5 -> retryAfter(429, Integer.toString(1 + r.nextInt(90)));
      case 6 -> status(400); // not in retryOnStatus: final
      case 7 -> timeout(30_000);
      case 8 -> unreachable();
      case 9 -> status(503, "activator request timeout"); // the Activator's, at zero
      default -> status(503, "pending request queue full\n"); // queue-proxy's, when warm and full
    };
  }
}
