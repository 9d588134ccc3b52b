package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.TestKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The retry-storm bound: a function failing 100% for 15 s under a steady load of async invocations.
 * Unchecked, every invocation would be attempted retry + 1 times; the breaker opens after
 * {@code minimumCalls} and from then on only its probes reach the function (3 per {@code openFor}),
 * while the invocations wait without spending attempts. The test counts the calls the function
 * actually received and holds them to that bound; the figures go to target/storm-report.txt.
 */
class StormIT {
  private static final int SECONDS = 15;
  private static final int PER_SECOND = 50;
  private static final int RETRY = 3;
  private static final int MINIMUM_CALLS = 20;
  private static final int OPEN_FOR_SECONDS = 5;
  private static final int PROBES = 3;

  @Test
  void aFunctionFailingUnderLoadReceivesNoMoreAttemptsThanThePolicyAllows() throws Exception {
    Queue<Long> calls = new ConcurrentLinkedQueue<>();
    try (FunctionServer fn = new FunctionServer().behave(c -> {
          calls.add(System.nanoTime());
          return new Answer(500, 0, "down");
        });
         Conveyor gw = Gateways.start(Gateways.yaml(TestKafka.bootstrap(), Gateways.prefix("storm"), """
             - { namespace: acme, name: down, url: "%s",
                 delivery: { retry: %d, backoffDelay: PT0.2S, backoffMax: PT2S },
                 circuitBreaker: { failureRateThreshold: 50, minimumCalls: %d, openFor: PT%dS } }
             """.formatted(fn.url("/down"), RETRY, MINIMUM_CALLS, OPEN_FOR_SECONDS), null))) {
      HttpClient client = HttpClient.newHttpClient();
      HttpRequest invoke = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.httpPort()
              + "/v1/namespaces/acme/functions/down/invocations"))
          .header("authorization", "Bearer " + ACME_KEY).POST(HttpRequest.BodyPublishers.ofString("{}")).build();
      AtomicInteger sent = new AtomicInteger();
      Map<String, Integer> outcomes = new ConcurrentSkipListMap<>();
      ScheduledExecutorService load = Executors.newSingleThreadScheduledExecutor();
      long start = System.nanoTime();
      load.scheduleAtFixedRate(() -> {
        if (sent.incrementAndGet() > SECONDS * PER_SECOND) return;
        client.sendAsync(invoke, HttpResponse.BodyHandlers.discarding()).whenComplete((r, e) -> {
          Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
          String outcome = cause != null ? cause.getClass().getSimpleName() : String.valueOf(r.statusCode());
          outcomes.merge(outcome, 1, Integer::sum);
        });
      }, 0, 1000 / PER_SECOND, TimeUnit.MILLISECONDS);
      await().atMost(Duration.ofSeconds(SECONDS + 30)).until(() -> sent.get() > SECONDS * PER_SECOND);
      load.shutdownNow();
      // The window is the load's SECONDS, measured on the function's side.
      long end = start + TimeUnit.SECONDS.toNanos(SECONDS);
      // Every request answered first: late in the whole suite (one broker, a busy machine) answers can come
      // seconds after the load ends, and a late 202 is still a 202. Anything but 202 is named in the failure.
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(
          outcomes.values().stream().mapToInt(Integer::intValue).sum()).as("answers so far: %s", outcomes)
          .isGreaterThanOrEqualTo(SECONDS * PER_SECOND));
      int accepted = outcomes.getOrDefault("202", 0);
      assertThat(accepted).as("answers: %s", outcomes).isGreaterThanOrEqualTo((int) (SECONDS * PER_SECOND * 0.99));
      List<Long> inWindow = new ArrayList<>(calls.stream().filter(t -> t >= start && t < end).toList());
      int[] perSecond = new int[SECONDS];
      for (long t : inWindow) perSecond[(int) ((t - start) / 1_000_000_000L)]++;
      int peak = 0;
      for (int n : perSecond) peak = Math.max(peak, n);
      // The breaker opens within the first second of calls; from one openFor after the first call on,
      // only its probes get through. Anchored at the first call: delivery may start late on a busy machine.
      long firstCall = inWindow.stream().mapToLong(Long::longValue).min().orElse(start);
      long tailFrom = firstCall + TimeUnit.SECONDS.toNanos(OPEN_FOR_SECONDS);
      int afterFirstOpen = (int) inWindow.stream().filter(t -> t >= tailFrom).count();
      long tail = Math.max(0, end - tailFrom) / 1_000_000_000L + 1; // whole seconds, rounded up
      int unbounded = accepted * (RETRY + 1);
      // minimumCalls to open, what was already in flight then (bounded by a second of load and its retries),
      // and 3 probes per openFor afterwards.
      int bound = MINIMUM_CALLS + 2 * PER_SECOND + PROBES * (SECONDS / OPEN_FOR_SECONDS + 1);
      String report = ("storm: %d invocations accepted in %d s (%d/s) at a function failing 100%%, retry %d, breaker "
          + "minimumCalls %d openFor %ds: the function received %d attempts (unchecked: up to %d); peak %d/s; "
          + "seconds %.1f-%d: %d attempts (%.2f/s); per second: %s; answers %s").formatted(accepted, SECONDS, PER_SECOND, RETRY,
          MINIMUM_CALLS, OPEN_FOR_SECONDS, inWindow.size(), unbounded, peak, (tailFrom - start) / 1e9, SECONDS, afterFirstOpen,
          afterFirstOpen / (double) tail,
          java.util.Arrays.toString(perSecond), outcomes);
      System.out.println(report);
      Files.writeString(Path.of("target", "storm-report.txt"), report + "\n");
      assertThat(inWindow.size()).as(report).isLessThanOrEqualTo(bound);
      assertThat(afterFirstOpen).as("after the breaker opened only its probes get through: " + report)
          .isLessThanOrEqualTo(PROBES * (int) (tail / OPEN_FOR_SECONDS + 1));
    }
  }
}
