package dev.conveyor.engine.observability;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The meters the alerts in deploy/monitoring/alerts read: their Prometheus names, labels, values and help. */
class AlertingMetricsTest {

  @Test
  void readinessAndTheStatusReaderAreGaugesReadAtScrapeTime() {
    AtomicReference<String> why = new AtomicReference<>("starting");
    AtomicBoolean reader = new AtomicBoolean(false);
    try (Metrics m = new Metrics()) {
      m.readiness(why::get, reader::get);
      String before = m.scrape();
      assertThat(before).contains("conveyor_ready 0.0", "conveyor_status_reader_up 0.0",
          "# HELP conveyor_ready ", "# HELP conveyor_status_reader_up ");
      why.set(null);
      reader.set(true);
      assertThat(m.scrape()).contains("conveyor_ready 1.0", "conveyor_status_reader_up 1.0");
      why.set("the status reader stopped");
      reader.set(false);
      assertThat(m.scrape()).contains("conveyor_ready 0.0", "conveyor_status_reader_up 0.0");
    }
  }

  @Test
  void acceptFailuresAreCountedByErrorCode() {
    try (Metrics m = new Metrics()) {
      m.acceptFailed("kafka_unavailable");
      m.acceptFailed("kafka_unavailable");
      m.acceptFailed("store_outcome_unknown");
      assertThat(m.scrape()).contains("conveyor_accept_failures_total{code=\"kafka_unavailable\"} 2.0",
          "conveyor_accept_failures_total{code=\"store_outcome_unknown\"} 1.0", "# HELP conveyor_accept_failures_total ");
    }
  }

  @Test
  void theOldestWaitingInvocationIsReportedInSecondsPerTenant() {
    try (Metrics m = new Metrics()) {
      m.oldestWaiting("acme").set(1500);
      m.oldestWaiting("globex").set(0);
      assertThat(m.oldestWaiting("acme")).isSameAs(m.oldestWaiting("acme"));
      assertThat(m.scrape()).contains("conveyor_queue_oldest_waiting_seconds{tenant=\"acme\"} 1.5",
          "conveyor_queue_oldest_waiting_seconds{tenant=\"globex\"} 0.0", "# HELP conveyor_queue_oldest_waiting_seconds ");
    }
  }
}
