package dev.conveyor.engine;

import dev.conveyor.engine.futures.Futures;
import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.auth.JwtAuthenticator;
import dev.conveyor.engine.connect.CloudEventsIngress;
import dev.conveyor.engine.connect.ConnectorHost;
import dev.conveyor.engine.connect.ConnectorState;
import dev.conveyor.engine.connect.Leases;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.tenancy.Placement;
import dev.conveyor.engine.metering.UsageAdjustments;
import dev.conveyor.engine.metering.UsageRollups;
import dev.conveyor.engine.metering.BudgetLedger;
import dev.conveyor.engine.metering.UsageRollupTopology;
import dev.conveyor.engine.metering.UsageStreams;
import dev.conveyor.engine.metering.UsageForwarder;
import dev.conveyor.engine.http.UsageHandler;
import dev.conveyor.engine.tenancy.Backlog;
import dev.conveyor.engine.connect.Submissions;
import dev.conveyor.engine.tenancy.ConfigWatcher;
import dev.conveyor.engine.tenancy.RateQuotas;
import dev.conveyor.engine.tenancy.Tenants;
import dev.conveyor.engine.breaker.Breakers;
import dev.conveyor.engine.callback.CallbackDispatcher;
import dev.conveyor.engine.callback.CallbackSender;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.deadletter.DeadLetterIndex;
import dev.conveyor.engine.deadletter.RecordFetcher;
import dev.conveyor.engine.http.DeadLettersHandler;
import dev.conveyor.engine.dispatch.Dispatcher;
import dev.conveyor.engine.dispatch.InvocationRunner;
import dev.conveyor.engine.dispatch.RetryRouter;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.http.AcceptHandler;
import dev.conveyor.engine.http.Admission;
import dev.conveyor.engine.http.SyncHandler;
import dev.conveyor.engine.http.AdminRoutes;
import dev.conveyor.engine.http.ApiRoutes;
import dev.conveyor.engine.http.AuthHandler;
import dev.conveyor.engine.http.InvocationsHandler;
import dev.conveyor.engine.http.ServerVerticle;
import dev.conveyor.engine.invoke.HttpInvoker;
import dev.conveyor.engine.kafka.EmbeddedKafka;
import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.kafka.KafkaHealth;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.kafka.Topics;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.queue.Enqueuer;
import dev.conveyor.engine.samples.SampleFunctions;
import dev.conveyor.engine.queue.QueueLookup;
import dev.conveyor.engine.status.StatusReader;
import dev.conveyor.engine.status.StatusStore;
import dev.conveyor.engine.knative.KnativeDiscovery;
import dev.conveyor.engine.attempt.AttemptPath;
import dev.conveyor.engine.limit.FunctionCapacity;
import dev.conveyor.engine.dispatch.SyncCalls;
import dev.conveyor.engine.dispatch.SyncSlots;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import dev.conveyor.engine.observability.Tracing;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: builds every component from the config, in one place, and starts them in
 * order (broker, topics, status replay, dispatcher, API). {@code bin/conveyor up}, the demo, the
 * tests and the benchmarks all start the gateway through {@link #start}. Start-up blocks the
 * calling thread (it is not an event loop); nothing after it does.
 */
public final class Conveyor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Conveyor.class);

  /**
   * Where the process keeps its data, the embedded broker's port (config/README.md), the Kubernetes
   * client for Knative discovery (null: built from the environment, in-cluster or kubeconfig), and
   * {@code otel.*} properties that win over the {@code OTEL_*} environment (tests use them), and the
   * config file to watch for tenant changes (null: none).
   */
  public record Runtime(Path dataDir, int embeddedKafkaPort, KubernetesClient kubernetes, Map<String, String> otel,
      Path configFile, Map<String, String> env, boolean admissionChecks) {
    public Runtime(Path dataDir, int embeddedKafkaPort) {
      this(dataDir, embeddedKafkaPort, null, Map.of(), null, Map.of());
    }

    public Runtime(Path dataDir, int embeddedKafkaPort, KubernetesClient kubernetes, Map<String, String> otel, Path configFile,
        Map<String, String> env) {
      this(dataDir, embeddedKafkaPort, kubernetes, otel, configFile, env, true);
    }

    /**
     * For the admission benchmark only (its baseline): no authentication (every request is the first
     * tenant with every role), no rate or backlog quota. Reachable from Java alone, never from the
     * config file, the environment or {@code bin/conveyor}.
     */
    public Runtime withAdmissionChecksOffForBenchmark() {
      return new Runtime(dataDir, embeddedKafkaPort, kubernetes, otel, configFile, env, false);
    }

    /** The same with this Kubernetes client for Knative discovery (tests pass the mock server's). */
    public Runtime withKubernetes(KubernetesClient client) {
      return new Runtime(dataDir, embeddedKafkaPort, client, otel, configFile, env);
    }

    /** The same with {@code otel.*} properties that win over the environment. */
    public Runtime withOtel(Map<String, String> properties) {
      return new Runtime(dataDir, embeddedKafkaPort, kubernetes, properties, configFile, env);
    }

    /** The same, watching {@code configFile} for tenant changes (read with {@code env}, as at start). */
    public Runtime watching(Path configFile, Map<String, String> env) {
      return new Runtime(dataDir, embeddedKafkaPort, kubernetes, otel, configFile, env);
    }
  }

  private final ConveyorConfig config;
  /**
   * What runs on the event loops (verticles, trigger connectors), stopped first and in reverse order of
   * start, so the API answers what is in flight before delivery drains; then the event loops stop.
   */
  private final Lifecycle onLoops = new Lifecycle();
  /** Everything else, from the broker up, stopped in reverse order of start once no event loop can call it. */
  private final Lifecycle components = new Lifecycle();
  private Vertx vertx;
  private Metrics metrics;
  private Tracing tracing;
  private KafkaHealth health;
  private StatusReader reader;
  private StatusStore store;
  private FunctionRegistry functions;
  private Tenants tenants;
  private Topics topics;
  private String bootstrap;
  private int httpPort;
  private int adminPort;
  private int samplesPort = -1;
  private volatile boolean started;
  private String apiDeployment;

  private Conveyor(ConveyorConfig config) {
    this.config = config;
  }

  public static Conveyor start(ConveyorConfig config, Runtime runtime) {
    Conveyor c = new Conveyor(config);
    try {
      // Milliseconds everywhere: ids (UUIDv7), Kafka timestamps and the API agree on them.
      c.boot(runtime);
      return c;
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
  }

  private void boot(Runtime runtime) {
    ConveyorConfig.KafkaSettings k = config.kafka();
    if (k.embedded()) {
      LOG.info("starting the embedded Kafka broker on 127.0.0.1:{} (data in {})", runtime.embeddedKafkaPort(), runtime.dataDir().resolve("kafka"));
      EmbeddedKafka embedded = components.add(new EmbeddedKafka(runtime.dataDir(), runtime.embeddedKafkaPort()).start());
      bootstrap = embedded.bootstrapServers();
    } else {
      bootstrap = k.bootstrapServers();
    }
    vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    Time clock = Time.system(vertx);
    metrics = components.add(new Metrics());
    // conveyor_ready and conveyor_status_reader_up: what /readyz answers, for alerting.
    metrics.readiness(this::notReadyReason, () -> reader != null && reader.alive());
    // Stopped after what comes below: it flushes the spans of everything stopped before it.
    tracing = components.add(Tracing.configure(System.getenv(), runtime.otel()));
    KafkaClients clients = new KafkaClients(bootstrap, k);
    topics = Topics.of(k.topicPrefix());

    Admin admin = components.add("admin client", clients.admin("conveyor-admin"));
    createTopics(admin, clock);
    if (k.embedded()) createTriggerTopics(admin);

    var producer = clients.producer("conveyor-producer");
    metrics.kafkaClient(producer); // kafka_producer_* in /metrics
    KafkaSender sender = components.add(new KafkaSender(producer, clients.producerBatchSize()));
    java.util.List<String> written = new java.util.ArrayList<>(java.util.List.of(topics.invocations(), topics.status(), topics.usage(), topics.deadletter(), topics.callbacks(), topics.warmUp()));
    topics.retryTiers().forEach(t -> written.add(t.topic()));
    written.addAll(destinationTopics());
    sender.warm(written);
    // Records nobody waits on (a sync call's usage record: the caller has its answer already) go
    // through a producer that lingers: the broker pays per request, and these come one per call.
    var lingering = clients.producer("conveyor-producer-background", k.backgroundLingerMs());
    metrics.kafkaClient(lingering);
    KafkaSender background = components.add("background sender", new KafkaSender(lingering, clients.producerBatchSize()));
    background.warm(java.util.List.of(topics.usage(), topics.status()));
    store = new StatusStore(config.status().cacheMaxBytes(), config.status().idempotencyWindow(), clock, sender, topics.status(),
        config.kafka().statusRecords());
    reader = components.add(new StatusReader(clients, store, topics.status()).start());
    health = components.add(new KafkaHealth(clock, admin, 1000));
    await(reader.caughtUp(), 120, "replaying " + topics.status());
    LOG.info("status replayed: {} invocations known", store.size());

    int queuePartitions = queuePartitions(admin);
    QueueLookup queueLookup = components.add(new QueueLookup(clients, admin, config.dispatch().group(), topics.invocations(),
        queuePartitions, config.status().retention(), clock, sender, store, k.deliveryTimeout()));
    functions = new FunctionRegistry(config.functions(), knative(runtime, clock));
    Breakers breakers = new Breakers(metrics.registry(), clock);
    HttpInvoker invoker = new HttpInvoker(vertx, clock, Math.max(64, config.dispatch().maxInFlight()), config.dispatch().maxResultBytes(),
        config.knative().trustBundle(), config.dispatch().protocol());
    UsageEmitter usage = new UsageEmitter(sender, topics.usage(), config.metering().source(), config.metering().billingGranularityMs());
    capacity = new FunctionCapacity();
    InvocationRunner runner = InvocationRunner.builder().time(clock).store(store).sink(sender, topics).functions(functions)
        .attempts(new AttemptPath(functions, invoker, capacity, metrics, tracing, clock)).breakers(breakers).usage(usage)
        .observability(metrics, tracing).runningStatusAfter(config.dispatch().runningStatusAfter())
        .queueHeaders(config.kafka().queueHeaders()).build();
    tenants = new Tenants(config.tenants());
    tenants.sharedPartitions(queuePartitions).forEach((p, names) -> LOG.warn(
        "tenants {} have lanes on the same queue partition {}: a flood of one past dispatch.maxWaiting holds up the "
            + "others' records there; give tenants that must be isolated partitions of their own (tenants[].partition)", names, p));
    SyncSlots syncSlots = new SyncSlots(clock);
    // Queue fetches wait up to 5 ms for 16 KiB: an invocation starts at most that much later, and
    // a replica at a moderate rate stops paying a fetch and a poll for every few records.
    Dispatcher dispatcher = new Dispatcher(clients.waitingFetches(clients.consumerConfig("conveyor-dispatch",
        config.dispatch().group()), 16 * 1024, 5),
        topics.invocations(), config.dispatch().maxInFlight(), config.dispatch().maxWaiting(), runner, metrics, store,
        t -> tenants.tenant(t).map(x -> x.limits().maxConcurrency()).orElse(1),
        t -> tenants.tenant(t).map(x -> x.limits().weight()).orElse(1),
        f -> function(f).map(capacity::limit).orElse(Integer.MAX_VALUE),
        // An attempt elsewhere may be a cold start the Activator holds for the revision's timeoutSeconds.
        f -> function(f).map(x -> java.time.Duration.ofMillis(AttemptPath.timeoutMs(x, true, x.delivery().timeout().toMillis())))
            .orElse(java.time.Duration.ofMinutes(1)), clock, syncSlots, t -> tenants.lanes(t, queuePartitions), queuePartitions,
        // A gained lane waits until the previous owner's attempts show in the status topic.
        config.dispatch().runningStatusAfter().plus(Dispatcher.STATUS_READ_BACK),
        f -> function(f).map(FunctionTarget::memoryMiB).orElse(0));
    if (config.dispatch().enabled()) {
      var retryConsumer = clients.consumer("conveyor-retry", config.dispatch().group() + "-retry");
      metrics.kafkaClient(retryConsumer);
      // Stopped after the dispatcher has drained (it forwards what the drain parks) and before the sender.
      components.add(new RetryRouter(retryConsumer, topics, queuePartitions, sender, clock).start());
      CallbackDispatcher posts = new CallbackDispatcher(clients.consumerConfig("conveyor-callbacks", config.dispatch().group() + "-callbacks"),
          topics, new CallbackSender(vertx, tenants::tenant, clock), sender, config.dispatch().callbacks(), metrics,
          clock);
      deploy("the callbacks", vertx.deployVerticle(posts), 60, 30);
      deploy("the dispatcher", vertx.deployVerticle(dispatcher), 60, 30); // drained before the callbacks stop
    } else {
      // No delivery here: sync calls keep the ledger on a context of their own (no async attempts to count).
      syncSlots.bind(vertx.getOrCreateContext(), dispatcher.ledger(), () -> {});
    }

    if (config.samples().enabled()) {
      SampleFunctions samples = new SampleFunctions(config.samples().port());
      deploy("the sample functions", vertx.deployVerticle(samples), 30, 10);
      samplesPort = samples.actualPort();
    }

    JwtAuthenticator jwt = null;
    if (config.auth().jwt() != null) {
      jwt = components.add(new JwtAuthenticator(vertx, clock, config.auth().jwt(), tenants::tenant));
      try {
        Futures.await(jwt.refresh(), Duration.ofSeconds(10), "fetching the JWKS");
      } catch (Exception e) {
        LOG.warn("no JWKS at start ({}); tokens are refused until it answers, API keys work", e.toString());
      }
    }
    io.vertx.core.Handler<io.vertx.ext.web.RoutingContext> auth = runtime.admissionChecks() ? new AuthHandler(tenants, jwt) : AuthHandler.benchmarkAnyone(tenants);
    Placement placement = new Placement(tenants, queuePartitions, config.status().idempotencyWindow(),
        f -> function(f).map(FunctionTarget::concurrency).orElse(Integer.MAX_VALUE));
    Backlog backlog = new Backlog(store, clock, placement::mine, metrics::queued);
    // Budgets are summed off the accept path, four times a second (only tenants whose usage or budgets changed).
    budgets = new BudgetLedger(tenants::budgets, clock, metrics);
    long budgetTimer = clock.setPeriodic(250, budgets::refresh);
    components.add("budget refresh", () -> clock.cancelTimer(budgetTimer));
    Admission admission = new Admission(functions, health, new RateQuotas(clock), metrics, clock, placement, backlog,
        runtime.admissionChecks(), budgets::refusal);
    if (runtime.configFile() != null) {
      components.add(new ConfigWatcher(vertx, clock, runtime.configFile(), runtime.env(), 2000, next -> tenants.replace(next.tenants())));
    }
    Enqueuer enqueuer = new Enqueuer(sender, store, topics.invocations(), queuePartitions, config.kafka().queueHeaders());
    AcceptHandler accept = new AcceptHandler(admission, enqueuer, store, health, metrics, tracing, clock, queueLookup);
    // Sync answers are relayed whole, up to the largest record Conveyor handles anywhere.
    HttpInvoker syncInvoker = new HttpInvoker(vertx, clock, 256, Topics.MAX_MESSAGE_BYTES, config.knative().trustBundle(),
        config.dispatch().protocol());
    UsageEmitter syncUsage = new UsageEmitter(background, topics.usage(), config.metering().source(),
        config.metering().billingGranularityMs());
    SyncCalls syncCalls = new SyncCalls(new AttemptPath(functions, syncInvoker, capacity, metrics, tracing, clock),
        functions, syncUsage, breakers, metrics, clock, syncSlots, store, background, config.dispatch().runningStatusAfter());
    SyncHandler sync = new SyncHandler(admission, accept, syncCalls, metrics, tracing);
    InvocationsHandler invocations = new InvocationsHandler(store, queueLookup, clock);
    DeadLetterIndex deadLetterIndex = components.add(new DeadLetterIndex(clients, topics.deadletter(), 10_000).start());
    RecordFetcher fetcher = components.add(new RecordFetcher(clients, clock));
    DeadLettersHandler deadLetters = new DeadLettersHandler(deadLetterIndex, fetcher, enqueuer, topics.deadletter(), clock, placement);
    // Port 0 = any free port; the two must differ, or Vert.x would share one server between them.
    httpPort = config.server().port() == 0 ? freePortOtherThan(config.server().adminPort(), samplesPort) : config.server().port();
    adminPort = config.server().adminPort() == 0 ? freePortOtherThan(httpPort, samplesPort) : config.server().adminPort();
    if (httpPort == adminPort) {
      throw new IllegalStateException("the API and admin ports are both " + httpPort + "; set server.adminPort to another port");
    }
    ConnectorState connectorState = components.add(new ConnectorState(clients, sender, topics.connectors()));
    Leases leases = components.add(new Leases(vertx, clock, config.leaderElection().enabled() ? kubernetes(runtime) : null,
        config.leaderElection(), identity()));
    UsageRollups rollups = components.add(new UsageRollups(clients, topics.usageRollups()));
    budgets.follow(rollups);
    if (config.dispatch().enabled()) {
      // Rollups run where delivery runs (an accept-only replica leaves them to the others).
      UsageStreams usageStreams = components.add(new UsageStreams(bootstrap, clients.common("conveyor-usage-rollups"),
          k.topicPrefix() + "usage-rollups", topics.usage(), topics.usageRollups(), config.metering().dedupeDays(), k.replicationFactor(),
          runtime.dataDir().resolve("streams"), new UsageRollupTopology.BudgetEvents(topics.budgetEvents(), config.metering().source(),
              tenants::budgets, metrics::budgetAlert)).dedupeEntries(config.metering().dedupeEntries()).start());
      metrics.kafkaStreams(usageStreams.streams()); // the rollups' consumer lag in /metrics
      if (config.metering().forward() != null) {
        // Tries of one batch may outlast the default poll interval while the billing system is down.
        var fwdConsumer = clients.consumer("conveyor-usage-forwarder", config.dispatch().group() + "-usage-forward",
            new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
            Map.of("max.poll.interval.ms", "3600000", "max.poll.records", Integer.toString(config.metering().forward().batchSize())));
        components.add(new UsageForwarder(fwdConsumer, topics.usage(), config.metering().forward(), metrics).start());
      }
    }
    UsageHandler usageApi = new UsageHandler(rollups, new UsageAdjustments(sender, topics.usage(), config.metering().source(), clock),
        store, clock, budgets);
    Submissions submissions = new Submissions(vertx, tenants, functions, enqueuer, store, metrics, clock, bootstrap,
        connectorState, leases, placement, backlog, budgets::refusal);
    CloudEventsIngress events = CloudEventsIngress.from(config.connectors(), submissions);
    int loops = Math.max(1, java.lang.Runtime.getRuntime().availableProcessors());
    // The admin port first: it answers probes and scrapes until the API has drained.
    deploy("the admin port " + adminPort, vertx.deployVerticle(new ServerVerticle(adminPort,
        v -> AdminRoutes.router(v, this::notReadyReason, metrics))), 30, 10);
    apiDeployment = deploy("the API on port " + httpPort, vertx.deployVerticle(() -> new ServerVerticle(httpPort,
            v -> ApiRoutes.router(v, auth, accept, sync, invocations, deadLetters, usageApi, events::handle), config.server().shutdownTimeout()),
        new DeploymentOptions().setInstances(loops)), 30, config.server().shutdownTimeout().toSeconds() + 5); // in-flight requests answered first
    // Not ready until the accept path is compiled: a replica's first seconds behind the load balancer
    // would otherwise run at a fraction of its rate. Bounded by server.warmUp; touches no tenant's data.
    warming = true;
    WarmUp.Result warm;
    try {
      warm = await(WarmUp.run(vertx, config.server().warmUp(), new WarmUp.Shared(sender, health, queueLookup, tracing, clock,
          topics.warmUp(), queuePartitions, config.kafka().queueHeaders(), config.kafka().statusRecords())),
          (int) config.server().warmUp().toSeconds() + 30,
          "warming up");
    } catch (IllegalStateException e) {
      if (Thread.currentThread().isInterrupted()) throw e;
      // A warm-up is an optimisation: one that fails (its port taken, Kafka slow) never stops a start.
      LOG.warn("the warm-up did not finish ({}); ready without it", e.getMessage());
      warm = WarmUp.Result.NONE;
    }
    warming = false;
    warmUp = warm;
    // Trigger connectors feed the same Enqueuer as the API; started last, stopped first.
    if (config.connectors() != null && !config.connectors().isNull() && !config.connectors().isEmpty()) {
      onLoops.add(new ConnectorHost(config.connectors(), submissions));
    }
    started = true;
    LOG.info("conveyor is up: API on :{}, admin on :{}, Kafka at {}, network transport {}{}", httpPort, adminPort, bootstrap,
        vertx.isNativeTransportEnabled() ? "epoll" : "NIO (" + vertx.unavailableNativeTransportCause() + ")",
        warm.accepted() == 0 ? "" : ", warmed up with " + warm.accepted() + " accepts in " + warm.took().toMillis() + " ms");
  }

  /** Knative discovery when enabled: informers started and synced before the API opens. */
  private FunctionRegistry.Source knative(Runtime runtime, Time clock) {
    if (!config.knative().enabled()) return (ns, fn) -> java.util.Optional.empty();
    KnativeDiscovery discovery = new KnativeDiscovery(kubernetes(runtime), config.knative().namespaces(), clock);
    components.add(discovery);
    await(discovery.synced(), 60, "listing Knative Services and Revisions in " + config.knative().namespaces());
    LOG.info("Knative discovery is watching namespaces {}", config.knative().namespaces());
    return discovery;
  }

  private KubernetesClient kubernetesClient;
  private BudgetLedger budgets;
  private FunctionCapacity capacity;
  private volatile boolean stopping;
  private volatile boolean warming;
  private WarmUp.Result warmUp;

  /** A function by "namespace/name", as the dispatcher names it. */
  private java.util.Optional<FunctionTarget> function(String key) {
    int slash = key.indexOf('/');
    return functions.find(key.substring(0, slash), key.substring(slash + 1));
  }

  /** The runtime's client, else one from the environment (in-cluster, or KUBECONFIG), built once. */
  private KubernetesClient kubernetes(Runtime runtime) {
    if (kubernetesClient == null) {
      kubernetesClient = runtime.kubernetes();
      if (kubernetesClient == null) {
        kubernetesClient = new KubernetesClientBuilder().build();
        components.add("Kubernetes client", kubernetesClient);
      }
    }
    return kubernetesClient;
  }

  /** This replica's name in Leases: the pod name (HOSTNAME) and the process id. */
  private static String identity() {
    String host = System.getenv().getOrDefault("HOSTNAME", "conveyor");
    return host + "-" + ProcessHandle.current().pid();
  }

  private static int freePortOtherThan(int... taken) {
    for (int p : EmbeddedKafka.freePorts(taken.length + 1)) {
      if (java.util.Arrays.stream(taken).noneMatch(t -> t == p)) return p;
    }
    throw new IllegalStateException("no free port");
  }

  private java.util.Set<String> destinationTopics() {
    java.util.Set<String> out = new java.util.TreeSet<>();
    for (var f : config.functions()) {
      for (var d : new ConveyorConfig.Destination[] {f.delivery().onSuccess(), f.delivery().onFailure()}) {
        if (d != null && d.topic() != null) out.add(d.topic());
      }
      // A function's own dead-letter topic too: a missing one would make its dead-letter writes retry forever.
      if (f.delivery().deadLetterTopic() != null) out.add(f.delivery().deadLetterTopic());
    }
    return out;
  }

  private void createTopics(Admin admin, Time clock) {
    long deadline = clock.nanos() + TimeUnit.MINUTES.toNanos(2);
    while (true) {
      try {
        Futures.await(topics.create(admin, config.kafka(), config.status(), destinationTopics()), Duration.ofSeconds(30), "creating topics");
        return;
      } catch (Exception e) {
        if (clock.nanos() > deadline) {
          throw new IllegalStateException("Kafka at " + bootstrap + " did not accept the topics: " + e.getMessage());
        }
        LOG.warn("waiting for Kafka at {} ({})", bootstrap, e.getClass().getSimpleName());
        try {
          Thread.sleep(1000); // start-up only: nothing else to do until the broker answers
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for Kafka");
        }
      }
    }
  }

  /**
   * On the embedded broker (which creates no topic by itself), the source topics of Kafka triggers
   * that read the gateway's own Kafka, so that a new user can try the config's example at once. On
   * an external cluster topics are its operators' to create.
   */
  private void createTriggerTopics(Admin admin) {
    var connectors = config.connectors();
    if (connectors == null || !connectors.isArray()) return;
    java.util.List<org.apache.kafka.clients.admin.NewTopic> wanted = new java.util.ArrayList<>();
    for (var c : connectors) {
      if (!"kafka".equals(c.path("type").asText()) || !c.path("bootstrapServers").asText("").isEmpty()) continue;
      String topic = c.path("topic").asText("");
      if (!topic.isEmpty()) wanted.add(new org.apache.kafka.clients.admin.NewTopic(topic, config.kafka().partitions(), (short) 1));
    }
    if (wanted.isEmpty()) return;
    admin.createTopics(wanted).values().forEach((topic, f) -> {
      try {
        Futures.await(f, Duration.ofSeconds(30), "creating " + topic);
        LOG.info("created the Kafka trigger's source topic {} on the embedded broker", topic);
      } catch (IllegalStateException e) {
        if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
          LOG.warn("could not create the Kafka trigger's source topic {}: {}", topic, e.getMessage());
        }
      }
    });
  }

  /** The queue's real partition count (an existing topic keeps its own): ids map onto it. */
  private int queuePartitions(Admin admin) {
    return Futures.await(admin.describeTopics(java.util.List.of(topics.invocations())).allTopicNames(), Duration.ofSeconds(60),
        "describing " + topics.invocations()).get(topics.invocations()).partitions().size();
  }

  /** Waits up to {@code startSeconds} for {@code deployment}; undeployed on close, waiting up to {@code stopSeconds}. */
  private String deploy(String what, io.vertx.core.Future<String> deployment, int startSeconds, long stopSeconds) {
    return undeployOnClose(what, Futures.await(deployment, Duration.ofSeconds(startSeconds), "starting " + what),
        stopSeconds);
  }

  private String undeployOnClose(String what, String id, long stopSeconds) {
    Vertx loops = vertx;
    onLoops.add(what, () -> Futures.await(loops.undeploy(id), Duration.ofSeconds(stopSeconds), "stopping " + what));
    return id;
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> f, int seconds, String what) {
    return Futures.await(f, Duration.ofSeconds(seconds), what);
  }

  private static <T> T await(io.vertx.core.Future<T> f, int seconds, String what) {
    return Futures.await(f, Duration.ofSeconds(seconds), what);
  }

  /** Null when the gateway can accept; otherwise why not. */
  public String notReadyReason() {
    if (stopping) return "stopping: draining before shutdown";
    if (warming) return "warming up: compiling the accept path";
    if (!started) return "starting";
    if (!health.reachable()) return health.reason();
    if (!reader.alive()) return "the status reader stopped";
    return null;
  }

  /** What the warm-up did before this replica reported ready (all zero when it was off). */
  public WarmUp.Result warmUpResult() {
    return warmUp;
  }

  public int httpPort() {
    return httpPort;
  }

  public int adminPort() {
    return adminPort;
  }

  public int samplesPort() {
    return samplesPort;
  }

  public String bootstrapServers() {
    return bootstrap;
  }

  public Topics topics() {
    return topics;
  }

  /** How many calls of each function may be in flight (from its Knative revision and push-back). */
  public FunctionCapacity capacity() {
    return capacity;
  }

  public FunctionRegistry functions() {
    return functions;
  }

  public StatusStore statusStore() {
    return store;
  }

  public Metrics metrics() {
    return metrics;
  }

  public Vertx vertx() {
    return vertx;
  }

  /**
   * SIGTERM's stop: readiness fails first, the API keeps answering for {@code server.drainDelay} while
   * load balancers notice and stop sending here, then {@link #close}: the API stops taking
   * connections and answers every request in flight, then delivery drains.
   */
  public void stopGracefully() {
    stopping = true;
    if (started && apiDeployment != null && !config.server().drainDelay().isZero()) {
      LOG.info("stopping: not ready; the API serves {} more while load balancers move on", config.server().drainDelay());
      try {
        Thread.sleep(config.server().drainDelay().toMillis()); // the stopping thread, never an event loop
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    close();
  }

  /** Drains in-flight work (requests answered, then delivery), then stops everything in reverse order of start. */
  @Override
  public synchronized void close() {
    started = false;
    stopping = true;
    onLoops.close();
    if (vertx != null) {
      try {
        Futures.await(vertx.close(), Duration.ofSeconds(40), "stopping the event loops");
      } catch (Exception e) {
        LOG.warn("stopping the event loops: {}", e.toString());
      }
      vertx = null;
    }
    components.close();
  }
}
