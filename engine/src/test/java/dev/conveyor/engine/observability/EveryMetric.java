package dev.conveyor.engine.observability;

import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.functions.FunctionTarget;
import java.net.URI;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicLong;

/** What {@code /metrics} shows once every kind of event happened once: every Conveyor metric, with its labels. */
public final class EveryMetric {
  private EveryMetric() {}

  /** The scrape of a registry in which every metric Conveyor has was touched once. */
  public static String scrape() {
    try (Metrics m = new Metrics()) {
      m.accepted("acme", "acme", "resize");
      m.oldestWaiting("acme").set(1500);
      m.acceptFailed("kafka_unavailable");
      m.readiness(() -> null, () -> true);
      m.completed("acme", "acme", "resize", dev.conveyor.engine.api.InvocationState.succeeded);
      m.attempt("acme", "acme", "resize", "resize-00001", "success");
      m.retry("acme", "acme", "resize");
      m.deadletter("acme", "acme", "resize");
      m.platformDelay("acme", "acme", "resize");
      m.coldStart("acme", "acme", "resize", "resize-00001", 800);
      m.post("acme", "callback", "delivered");
      m.triggered("kafka", "acme");
      m.usageRecord("acme");
      m.rejected("acme", "rate");
      m.duration("acme", "acme", "resize", "resize-00001", 12);
      m.queueWait("acme", "acme", "resize", 3);
      m.inflight("acme").incrementAndGet();
      m.lane("acme", 0).inflight().incrementAndGet();
      m.lane("acme", 0).backlog().incrementAndGet();
      m.limitShare("acme", () -> 1.0);
      m.budgetUsed("acme", "month", () -> 0.5);
      m.budgetAlert("acme", "month", 0.8);
      m.memoryInFlight("acme").addAndGet(256);
      m.queued("acme", new AtomicLong(3));
      var connector = m.connector("orders", "kafka");
      connector.received(1);
      connector.lagRecords("orders-0", 5);
      connector.lagSeconds(0.5);
      m.gauge("conveyor.usage.forward.lag", new AtomicLong(2));
      m.usageForwarded("taken", 10);
      new Breakers(m.registry(), dev.conveyor.engine.time.Time.clocks()).of(new FunctionTarget("acme", "resize", URI.create("http://x"), 128, 10,
          ConfigLoader.defaultDelivery(), ConfigLoader.defaultBreaker(), null, null));
      return m.scrape();
    }
  }
}
