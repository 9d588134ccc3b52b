package dev.conveyor.engine.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Every metric of docs/observability.md's table, and its labels, in one place (MetricsDocumentedTest holds the two together). Label sets use the Knative names
 * ({@code k8s_namespace_name}, {@code kn_service_name}) so dashboards join the Activator's series;
 * tenants and functions come from config, which bounds cardinality. Meters are cached per label
 * set so the hot path does a map lookup, not a registry lookup.
 */
public final class Metrics implements AutoCloseable {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<Key, Counter> counters = new ConcurrentHashMap<>();
  private final Map<Key, Timer> timers = new ConcurrentHashMap<>();

  /**
   * A meter's name and label values, the key of {@link #counters} and {@link #timers}: a record of
   * the strings at hand instead of a string built (and hashed) from them for every invocation.
   */
  private record Key(String name, String a, String b, String c, String d, String e) {
    Key(String name, String a) {
      this(name, a, null, null, null, null);
    }

    Key(String name, String a, String b) {
      this(name, a, b, null, null, null);
    }

    Key(String name, String a, String b, String c) {
      this(name, a, b, c, null, null);
    }

    Key(String name, String a, String b, String c, String d) {
      this(name, a, b, c, d, null);
    }
  }
  private final Map<String, AtomicInteger> inflight = new ConcurrentHashMap<>();
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final java.util.List<AutoCloseable> kafkaBinders = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * The {@code # HELP} text of each of Conveyor's meters, by meter name: one place, applied by a filter
   * to every meter of that name, wherever it is registered (Breakers registers the breaker's gauge).
   */
  static final Map<String, String> HELP = Map.ofEntries(
      Map.entry("conveyor.invocations.accepted", "Async invocations stored and answered 202"),
      Map.entry("conveyor.invocations.completed", "Invocations that reached a terminal status, by outcome"),
      Map.entry("conveyor.attempts", "Calls of a function (async and sync), by outcome and the revision that ran them"),
      Map.entry("conveyor.retries", "Attempts scheduled again after a retryable failure"),
      Map.entry("conveyor.platform.delays", "Answers of Knative's Activator or queue-proxy waited out (no retry spent)"),
      Map.entry("conveyor.deadletters", "Invocations dead-lettered: retries exhausted or a final failure"),
      Map.entry("conveyor.callbacks", "Callback and destination posts, by kind and outcome"),
      Map.entry("conveyor.trigger.invocations", "Invocations submitted by trigger connectors, by trigger"),
      Map.entry("conveyor.usage.records", "Usage records written (one per attempt)"),
      Map.entry("conveyor.throttled", "Requests refused by a tenant's limits, by reason"),
      Map.entry("conveyor.invocation.duration", "Duration of each attempt, by the revision that ran it"),
      Map.entry("conveyor.queue.wait", "Time from acceptance to the first attempt's start"),
      Map.entry("conveyor.cold.starts", "Attempts that met a revision scaled to zero"),
      Map.entry("conveyor.cold.start.duration", "How long an attempt waited for its revision to scale from zero"),
      Map.entry("conveyor.connector.records", "Records a trigger connector turned into invocations"),
      Map.entry("conveyor.connector.lag.records", "Records a Kafka trigger has not yet turned into invocations, per partition"),
      Map.entry("conveyor.connector.lag.seconds", "Age of the oldest record a trigger connector has not yet submitted"),
      Map.entry("conveyor.queued", "Invocations this replica accepted that have not ended (the tenant's maxQueued counts them)"),
      Map.entry("conveyor.inflight", "Attempts running on this replica's dispatcher"),
      Map.entry("conveyor.lane.backlog", "Invocations of a tenant's lane read by this replica and waiting for a slot "
          + "(lane \"moved\": from a partition of an earlier placement)"),
      Map.entry("conveyor.lane.inflight", "Attempts of a tenant's lane running on this replica's dispatcher"),
      Map.entry("conveyor.tenant.limit.share", "Part of the tenant's maxConcurrency this replica's dispatcher holds: "
          + "the shares of the tenant's lanes it owns (0 to 1)"),
      Map.entry("conveyor.budget.used.ratio", "Fraction of the tenant's usage budget over the period spent in the current period "
          + "(1 = spent; the largest of its budgets over that period)"),
      Map.entry("conveyor.budget.alerts", "Budget threshold events this replica raised (each threshold once per budget and period)"),
      Map.entry("conveyor.memory.inflight.mib", "Memory (MiB, the functions' memoryMiB) held by a tenant's async attempts running on this "
          + "replica's dispatcher (tenants with maxMemoryInFlightMiB)"),
      Map.entry("conveyor.usage.forwarded", "Usage records handed to the billing system's endpoint, by outcome"),
      Map.entry("conveyor.usage.forward.lag", "Usage records not yet forwarded to the billing system"),
      Map.entry("conveyor.circuit.state", "A function's circuit breaker: 0 closed, 1 open, 2 half-open"));

  public Metrics() {
    registry.config().meterFilter(new io.micrometer.core.instrument.config.MeterFilter() {
      @Override
      public io.micrometer.core.instrument.Meter.Id map(io.micrometer.core.instrument.Meter.Id id) {
        String help = id.getDescription() == null ? HELP.get(id.getName()) : null;
        return help == null ? id
            : new io.micrometer.core.instrument.Meter.Id(id.getName(), Tags.of(id.getTags()), id.getBaseUnit(), help, id.getType());
      }
    });
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    gc.bindTo(registry);
  }

  /** The Kafka client's own metrics (kafka_producer_*, kafka_consumer_*), through Micrometer's binder. */
  public void kafkaClient(Object client) {
    KafkaClientMetrics binder = client instanceof org.apache.kafka.clients.producer.Producer<?, ?> p ? new KafkaClientMetrics(p)
        : new KafkaClientMetrics((org.apache.kafka.clients.consumer.Consumer<?, ?>) client);
    binder.bindTo(registry);
    kafkaBinders.add(binder);
  }

  /**
   * A Kafka Streams app's own metrics through Micrometer's binder: the embedded clients' meters
   * beside the plain clients' ones, named as Micrometer's KafkaMetrics names them ("kafka." + the
   * metric group without "-metrics" + the metric's name), e.g. the stream threads' consumer lag
   * {@code kafka_consumer_fetch_manager_records_lag{client_id="<client.id>-StreamThread-<n>-consumer",topic,partition}}
   * (client ids as Kafka Streams' StreamThread derives them).
   */
  public void kafkaStreams(org.apache.kafka.streams.KafkaStreams streams) {
    KafkaStreamsMetrics binder = new KafkaStreamsMetrics(streams);
    binder.bindTo(registry);
    kafkaBinders.add(binder);
  }

  /**
   * {@code conveyor_ready} (1 when the replica can accept, as {@code /readyz} answers) and
   * {@code conveyor_status_reader_up} (0 once the status reader stopped for good), read at scrape
   * time.
   */
  public void readiness(java.util.function.Supplier<String> notReadyReason, java.util.function.BooleanSupplier statusReaderAlive) {
    Gauge.builder("conveyor.ready", () -> notReadyReason.get() == null ? 1 : 0).strongReference(true)
        .description("1 while this replica can accept invocations (/readyz answers 200), else 0").register(registry);
    Gauge.builder("conveyor.status.reader.up", () -> statusReaderAlive.getAsBoolean() ? 1 : 0).strongReference(true)
        .description("1 while the status topic's reader runs, 0 once it stopped for good (statuses go stale; "
            + "the replica is not ready)").register(registry);
  }

  /**
   * An async accept answered 503: {@code conveyor_accept_failures_total{code}}, the answer's error
   * code ({@code kafka_unavailable}: not stored; {@code store_outcome_unknown}: Kafka did not confirm).
   */
  public void acceptFailed(String code) {
    counters.computeIfAbsent(new Key("conveyor.accept.failures", code), k -> Counter.builder("conveyor.accept.failures")
        .tag("code", code).description("Async invocations answered 503, by error code").register(registry)).increment();
  }

  /**
   * {@code conveyor_queue_oldest_waiting_seconds{tenant}}: how long the tenant's oldest invocation
   * held by this replica's dispatcher has waited to start (0 when none waits). The dispatcher sets it
   * in milliseconds.
   */
  public java.util.concurrent.atomic.AtomicLong oldestWaiting(String tenant) {
    return gauges.computeIfAbsent("conveyor.queue.oldest.waiting.seconds|" + tenant, k -> {
      java.util.concurrent.atomic.AtomicLong v = new java.util.concurrent.atomic.AtomicLong();
      Gauge.builder("conveyor.queue.oldest.waiting.seconds", v, x -> x.get() / 1000.0).tags("tenant", tenant)
          .description("Age of the oldest invocation this replica's dispatcher holds that is due and has not started "
              + "(since accepted, or since due for a retry)").register(registry);
      return v;
    });
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public String scrape() {
    return registry.scrape();
  }

  /**
   * Only the metric families named, as {@code /metrics?name[]=...} asks (the Prometheus client's
   * convention): a counter by its name with or without {@code _total}. Empty: all of them.
   *
   * <p>Counters and gauges are read from just the meters named: the registry's own filtered scrape
   * reads every meter first and then drops what was not asked for (Micrometer's collectors do not
   * say their names ahead), and with the Kafka clients' meters that cost a draining replica 1.45% of
   * its CPU when read once a second. Any other type named (or an info, or a family of mixed types) is
   * read by the registry's scrape.
   */
  public String scrape(java.util.Collection<String> names) {
    if (names.isEmpty()) return registry.scrape();
    java.util.Set<String> families = new java.util.HashSet<>(names);
    for (String n : names) {
      if (n.endsWith("_total")) families.add(n.substring(0, n.length() - "_total".length()));
    }
    io.micrometer.core.instrument.config.NamingConvention convention = registry.config().namingConvention();
    Map<String, java.util.List<io.micrometer.core.instrument.Meter>> named = new java.util.TreeMap<>();
    for (io.micrometer.core.instrument.Meter m : registry.getMeters()) {
      io.micrometer.core.instrument.Meter.Id id = m.getId();
      String family = convention.name(id.getName(), id.getType(), id.getBaseUnit());
      if (!families.contains(family)) continue;
      var same = named.computeIfAbsent(family, f -> new java.util.ArrayList<>());
      boolean counter = m instanceof Counter || m instanceof io.micrometer.core.instrument.FunctionCounter;
      if (!(counter || m instanceof Gauge) || id.getName().endsWith(".info")
          || (!same.isEmpty() && (same.get(0) instanceof Gauge) == counter)) { // another type, an info, or types mixed
        return registry.scrape("text/plain; version=0.0.4; charset=utf-8", families);
      }
      same.add(m);
    }
    java.util.List<io.prometheus.metrics.model.snapshots.MetricSnapshot> snapshots = new java.util.ArrayList<>();
    for (var family : named.entrySet()) {
      io.micrometer.core.instrument.Meter first = family.getValue().get(0);
      String help = first.getId().getDescription() == null ? " " : first.getId().getDescription();
      if (first instanceof Gauge) {
        var b = io.prometheus.metrics.model.snapshots.GaugeSnapshot.builder().name(family.getKey()).help(help);
        for (var m : family.getValue()) {
          b.dataPoint(io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(labels(m, convention))
              .value(((Gauge) m).value()).build());
        }
        snapshots.add(b.build());
      } else {
        var b = io.prometheus.metrics.model.snapshots.CounterSnapshot.builder().name(family.getKey()).help(help);
        for (var m : family.getValue()) {
          double v = m instanceof Counter c ? c.count() : ((io.micrometer.core.instrument.FunctionCounter) m).count();
          b.dataPoint(io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot.builder().labels(labels(m, convention))
              .value(v).build());
        }
        snapshots.add(b.build());
      }
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try {
      io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter.create()
          .write(out, new io.prometheus.metrics.model.snapshots.MetricSnapshots(snapshots));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e); // writing to memory
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static io.prometheus.metrics.model.snapshots.Labels labels(io.micrometer.core.instrument.Meter m,
      io.micrometer.core.instrument.config.NamingConvention convention) {
    java.util.List<String> keys = new java.util.ArrayList<>();
    java.util.List<String> values = new java.util.ArrayList<>();
    for (io.micrometer.core.instrument.Tag t : m.getId().getTagsAsIterable()) {
      keys.add(convention.tagKey(t.getKey()));
      values.add(convention.tagValue(t.getValue()));
    }
    return io.prometheus.metrics.model.snapshots.Labels.of(keys, values);
  }

  /**
   * A function's labels. A tagged route ({@code resize@canary}) is labelled with its Knative Service
   * ({@code kn_service_name="resize"}) so that it joins Knative's own series; the revision label, where
   * a series has one, tells the tag's calls apart. (Another label only for tags is not possible: every
   * series of one name must have the same label names.)
   */
  private static Tags fn(String tenant, String ns, String fn) {
    int at = fn.indexOf('@');
    return Tags.of("tenant", tenant, "k8s_namespace_name", ns, "kn_service_name", at < 0 ? fn : fn.substring(0, at));
  }

  private final java.util.Map<String, java.util.concurrent.atomic.AtomicLong> gauges =
      new java.util.concurrent.ConcurrentHashMap<>();

  private Counter counter(Key key, Function<Key, Tags> tags) {
    Counter c = counters.get(key); // the common case: no lock, as computeIfAbsent may take one
    return c != null ? c : counters.computeIfAbsent(key, k -> Counter.builder(k.name()).tags(tags.apply(k)).register(registry));
  }

  public void accepted(String tenant, String ns, String fn) {
    counter(new Key("conveyor.invocations.accepted", tenant, ns, fn), k -> fn(tenant, ns, fn)).increment();
  }

  public void completed(String tenant, String ns, String fn, dev.conveyor.engine.api.InvocationState state) {
    String outcome = state.name();
    counter(new Key("conveyor.invocations.completed", tenant, ns, fn, outcome),
        k -> fn(tenant, ns, fn).and("outcome", outcome)).increment();
  }

  /** Per attempt, also by {@code kn_revision_name} (empty for static targets): the revision that ran it. */
  public void attempt(String tenant, String ns, String fn, String revision, String outcome) {
    String rev = revision == null ? "" : revision;
    counter(new Key("conveyor.attempts", tenant, ns, fn, rev, outcome),
        k -> fn(tenant, ns, fn).and("kn_revision_name", rev, "outcome", outcome)).increment();
  }

  public void retry(String tenant, String ns, String fn) {
    counter(new Key("conveyor.retries", tenant, ns, fn), k -> fn(tenant, ns, fn)).increment();
  }

  /** The Activator answered 503/404 while the revision had no ready replica: waited out, not a failure. */
  public void platformDelay(String tenant, String ns, String fn) {
    counter(new Key("conveyor.platform.delays", tenant, ns, fn), k -> fn(tenant, ns, fn)).increment();
  }

  public void deadletter(String tenant, String ns, String fn) {
    counter(new Key("conveyor.deadletters", tenant, ns, fn), k -> fn(tenant, ns, fn)).increment();
  }

  /** A callback or URL destination POST: delivered, retried, refused (not allow-listed) or given_up. */
  public void post(String tenant, String kind, String outcome) {
    counter(new Key("conveyor.callbacks", tenant, kind, outcome),
        k -> Tags.of("tenant", tenant, "kind", kind, "outcome", outcome)).increment();
  }

  /** An invocation a trigger connector queued: {@code conveyor_trigger_invocations_total{trigger,tenant}}. */
  public void triggered(String trigger, String tenant) {
    counter(new Key("conveyor.trigger.invocations", trigger, tenant), k -> Tags.of("trigger", trigger, "tenant", tenant)).increment();
  }

  public void usageRecord(String tenant) {
    counter(new Key("conveyor.usage.records", tenant), k -> Tags.of("tenant", tenant)).increment();
  }

  public void rejected(String tenant, String reason) {
    counter(new Key("conveyor.throttled", tenant, reason), k -> Tags.of("tenant", tenant, "reason", reason)).increment();
  }

  private Timer timer(String name, String tenant, String ns, String fn) {
    return timers.computeIfAbsent(new Key(name, tenant, ns, fn), k -> Timer.builder(name)
        .tags(fn(tenant, ns, fn))
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofHours(1))
        .register(registry));
  }

  /** An attempt's duration, also by {@code kn_revision_name} (empty for static targets). */
  public void duration(String tenant, String ns, String fn, String revision, long ms) {
    String rev = revision == null ? "" : revision;
    timers.computeIfAbsent(new Key("conveyor.invocation.duration", tenant, ns, fn, rev), k ->
        Timer.builder("conveyor.invocation.duration").tags(fn(tenant, ns, fn).and("kn_revision_name", rev))
            .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofHours(1))
            .register(registry)).record(ms, TimeUnit.MILLISECONDS);
  }

  /**
   * A cold attempt (its revision had no ready replica): {@code conveyor_cold_starts_total} and
   * {@code conveyor_cold_start_duration_seconds}, also by {@code kn_revision_name}.
   */
  public void coldStart(String tenant, String ns, String fn, String revision, long ms) {
    String rev = revision == null ? "" : revision;
    Tags tags = fn(tenant, ns, fn).and("kn_revision_name", rev);
    counter(new Key("conveyor.cold.starts", tenant, ns, fn, rev), k -> tags).increment();
    timers.computeIfAbsent(new Key("conveyor.cold.start.duration", tenant, ns, fn, rev), k -> Timer.builder("conveyor.cold.start.duration")
        .tags(tags).publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(10))
        .maximumExpectedValue(Duration.ofMinutes(10)).register(registry)).record(ms, TimeUnit.MILLISECONDS);
  }

  public void queueWait(String tenant, String ns, String fn, long ms) {
    timer("conveyor.queue.wait", tenant, ns, fn).record(ms, TimeUnit.MILLISECONDS);
  }

  /**
   * A connector's own meters: {@code conveyor_connector_records_total{connector,type}} (records read
   * from its source), {@code conveyor_connector_lag_records{connector,partition}} (records not yet
   * queued) and {@code conveyor_connector_lag_seconds{connector}} (a schedule's oldest unfired tick).
   */
  public dev.conveyor.connector.spi.ConnectorContext.ConnectorMetrics connector(String connector, String type) {
    Counter records = counter(new Key("conveyor.connector.records", connector), k -> Tags.of("connector", connector, "type", type));
    return new dev.conveyor.connector.spi.ConnectorContext.ConnectorMetrics() {
      @Override
      public void received(long count) {
        records.increment(count);
      }

      @Override
      public void lagRecords(String partition, long value) {
        gauge("conveyor.connector.lag.records", Tags.of("connector", connector, "partition", partition), 1).set(value);
      }

      @Override
      public void lagSeconds(double seconds) {
        gauge("conveyor.connector.lag.seconds", Tags.of("connector", connector), 0.001).set(Math.round(seconds * 1000));
      }
    };
  }

  /** A gauge holding a long, reported times {@code scale} (milliseconds held, seconds reported: 0.001). */
  private java.util.concurrent.atomic.AtomicLong gauge(String name, Tags tags, double scale) {
    return gauges.computeIfAbsent(name + tags, k -> {
      java.util.concurrent.atomic.AtomicLong v = new java.util.concurrent.atomic.AtomicLong();
      Gauge.builder(name, v, x -> x.get() * scale).tags(tags).register(registry);
      return v;
    });
  }

  /** {@code conveyor_queued{tenant}}: invocations this replica accepted that have not ended (registered once per tenant). */
  public void queued(String tenant, java.util.concurrent.atomic.AtomicLong value) {
    Gauge.builder("conveyor.queued", value, java.util.concurrent.atomic.AtomicLong::get).tags("tenant", tenant).register(registry);
  }

  /** A gauge reading {@code value}, registered once under {@code name}. */
  public void gauge(String name, java.util.concurrent.atomic.AtomicLong value) {
    Gauge.builder(name, value, java.util.concurrent.atomic.AtomicLong::get).register(registry);
  }

  /**
   * {@code conveyor_usage_forwarded_total{outcome}}: {@code taken} and {@code duplicate} count events
   * the billing system has; the other outcomes count failed tries of a batch.
   */
  public void usageForwarded(String outcome, long count) {
    counter(new Key("conveyor.usage.forwarded", outcome), k -> Tags.of("outcome", outcome)).increment(count);
  }

  /** A tenant's lane on this replica's dispatcher: its records waiting for a slot, and its attempts running. */
  public record Lane(AtomicInteger backlog, AtomicInteger inflight) {}

  private final Map<String, Map<Integer, Lane>> lanes = new ConcurrentHashMap<>();

  /**
   * The counters of lane {@code lane} of {@code tenant} (-1: records from a partition that is none of
   * its lanes, left from an earlier placement), registered as
   * {@code conveyor_lane_backlog{tenant,lane}} and {@code conveyor_lane_inflight{tenant,lane}}.
   */
  public Lane lane(String tenant, int lane) {
    return lanes.computeIfAbsent(tenant, t -> new ConcurrentHashMap<>()).computeIfAbsent(lane, k -> {
      String label = lane < 0 ? "moved" : Integer.toString(lane);
      Lane l = new Lane(new AtomicInteger(), new AtomicInteger());
      Gauge.builder("conveyor.lane.backlog", l.backlog(), AtomicInteger::get).tags("tenant", tenant, "lane", label).register(registry);
      Gauge.builder("conveyor.lane.inflight", l.inflight(), AtomicInteger::get).tags("tenant", tenant, "lane", label).register(registry);
      return l;
    });
  }

  /** {@code conveyor_budget_used_ratio{tenant,period}}, read at scrape. */
  public void budgetUsed(String tenant, String period, java.util.function.DoubleSupplier ratio) {
    Gauge.builder("conveyor.budget.used.ratio", ratio::getAsDouble).tags("tenant", tenant, "period", period).strongReference(true)
        .register(registry);
  }

  /** {@code conveyor_budget_alerts_total{tenant,period,threshold}}: a budget event raised here. */
  public void budgetAlert(String tenant, String period, double threshold) {
    String t = java.math.BigDecimal.valueOf(threshold).stripTrailingZeros().toPlainString();
    counter(new Key("conveyor.budget.alerts", tenant, period, t), k -> Tags.of("tenant", tenant, "period", period, "threshold", t))
        .increment();
  }

  private final Map<String, java.util.concurrent.atomic.AtomicLong> memoryInFlight = new ConcurrentHashMap<>();

  /** The memory in flight of a tenant's async attempts here, registered as {@code conveyor_memory_inflight_mib{tenant}}. */
  public java.util.concurrent.atomic.AtomicLong memoryInFlight(String tenant) {
    return memoryInFlight.computeIfAbsent(tenant, t -> {
      var n = new java.util.concurrent.atomic.AtomicLong();
      Gauge.builder("conveyor.memory.inflight.mib", n, java.util.concurrent.atomic.AtomicLong::get).tags("tenant", t)
          .register(registry);
      return n;
    });
  }

  /** {@code conveyor_tenant_limit_share{tenant}}: the part of the tenant's maxConcurrency this replica holds, read at scrape. */
  public void limitShare(String tenant, java.util.function.DoubleSupplier share) {
    Gauge.builder("conveyor.tenant.limit.share", share::getAsDouble).tags("tenant", tenant).strongReference(true).register(registry);
  }

  /** The in-flight counter of a tenant, registered as {@code conveyor_inflight{tenant}}. */
  public AtomicInteger inflight(String tenant) {
    return inflight.computeIfAbsent(tenant, t -> {
      AtomicInteger n = new AtomicInteger();
      Gauge.builder("conveyor.inflight", n, AtomicInteger::get).tags("tenant", t).register(registry);
      return n;
    });
  }

  @Override
  public void close() {
    kafkaBinders.forEach(b -> {
      try {
        b.close();
      } catch (Exception e) {
        // closing a binder only stops its refresh thread
      }
    });
    gc.close();
    registry.close();
  }
}
