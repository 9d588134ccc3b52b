package dev.conveyor.engine.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.InvocationState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code /metrics?name[]=...}: only the families named, a counter with or without {@code _total}. */
class ScrapeByNameTest {

  @Test
  void onlyTheNamedFamiliesAreWritten() {
    try (Metrics m = new Metrics()) {
      m.accepted("acme", "acme", "echo");
      m.accepted("acme", "acme", "echo");
      m.completed("acme", "acme", "echo", InvocationState.succeeded);
      m.retry("acme", "acme", "echo");

      String two = m.scrape(List.of("conveyor_invocations_accepted_total", "conveyor_invocations_completed"));
      assertThat(two.lines().filter(l -> !l.startsWith("#")))
          .anySatisfy(l -> assertThat(l).startsWith("conveyor_invocations_accepted_total{").endsWith(" 2.0"))
          .anySatisfy(l -> assertThat(l).startsWith("conveyor_invocations_completed_total{"))
          .allSatisfy(l -> assertThat(l).startsWith("conveyor_invocations_"));
      assertThat(two).doesNotContain("conveyor_retries", "jvm_");

      String all = m.scrape(List.of());
      assertThat(all).contains("conveyor_invocations_accepted_total{", "conveyor_retries", "jvm_");
    }
  }
}
