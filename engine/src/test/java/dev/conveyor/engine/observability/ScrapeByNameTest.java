package dev.conveyor.engine.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.InvocationState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code /metrics?name[]=...}: only the families named, a counter with or without {@code _total}. */
class ScrapeByNameTest {

  /** The sample lines of {@code families} in a scrape (comments left out), sorted. */
  private static List<String> samples(String scrape, java.util.Set<String> families) {
    return scrape.lines().filter(l -> !l.startsWith("#"))
        .filter(l -> families.stream().anyMatch(f -> l.matches(java.util.regex.Pattern.quote(f) + "(_total|_bucket|_count|_sum)?[{ ].*")))
        .sorted().toList();
  }

  @Test
  void countersAndGaugesNamedReadTheSameAsInTheWholeScrapeAndOtherTypesToo() {
    try (Metrics m = new Metrics()) {
      m.accepted("acme", "acme", "echo");
      m.accepted("globex", "shop", "pay\"\\ü");
      m.completed("acme", "acme", "echo", InvocationState.failed);
      m.completed("acme", "acme", "echo", InvocationState.succeeded);
      m.completed("acme", "acme", "echo", InvocationState.succeeded);
      m.retry("acme", "acme", "echo");
      m.readiness(() -> null, () -> false);
      java.util.concurrent.atomic.AtomicLong queued = new java.util.concurrent.atomic.AtomicLong(7); // the gauge holds it weakly
      m.queued("acme", queued);
      m.duration("acme", "acme", "echo", "echo-00001", 42);
      java.util.Set<String> families = java.util.Set.of("conveyor_invocations_accepted", "conveyor_invocations_completed",
          "conveyor_ready", "conveyor_status_reader_up", "conveyor_queued", "conveyor_invocation_duration_seconds");
      String all = m.scrape(List.of());
      for (String f : families) {
        List<String> want = samples(all, java.util.Set.of(f));
        assertThat(want).as(f).isNotEmpty();
        String name = f.startsWith("conveyor_invocations_") ? f + "_total" : f;
        assertThat(samples(m.scrape(List.of(name)), java.util.Set.of(f))).as(f).isEqualTo(want);
      }
      List<String> several = samples(m.scrape(List.copyOf(families)), families);
      assertThat(several).isEqualTo(samples(all, families));
      assertThat(all).contains("conveyor_retries_total{", "jvm_");
      assertThat(m.scrape(List.copyOf(families))).doesNotContain("conveyor_retries", "jvm_");
      assertThat(m.scrape(List.of("conveyor_ready", "conveyor_queued"))).as("counters and gauges only: read from the meters named")
          .contains("# TYPE conveyor_ready gauge", "conveyor_queued{tenant=\"acme\"} 7")
          .doesNotContain("jvm_", "conveyor_invocations");
      assertThat(m.scrape(List.of("no_such_family")).lines().filter(l -> !l.startsWith("#"))).isEmpty();
      // What was not named is not read: a gauge's function runs only in a scrape that names it.
      java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
      m.budgetUsed("acme", "day", () -> reads.incrementAndGet() * 0.0);
      m.scrape(List.of("conveyor_invocations_accepted_total", "conveyor_ready"));
      assertThat(reads).as("reads of a gauge not named").hasValue(0);
      assertThat(m.scrape(List.of("conveyor_budget_used_ratio"))).contains("conveyor_budget_used_ratio{");
      assertThat(reads).hasValue(1);
      java.lang.ref.Reference.reachabilityFence(queued);
    }
  }
}
