package dev.conveyor.engine.connect;

import dev.conveyor.engine.time.Time;
import dev.conveyor.connector.spi.ConnectorContext;
import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationBuilder;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import dev.conveyor.engine.functions.FunctionRegistry;
import dev.conveyor.engine.functions.FunctionTarget;
import dev.conveyor.engine.observability.Metrics;
import dev.conveyor.engine.observability.Tracing;
import dev.conveyor.engine.queue.Enqueuer;
import dev.conveyor.engine.status.StatusStore;
import dev.conveyor.engine.tenancy.Tenants;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * The gateway's side of {@link ConnectorContext}: a connector's submission goes through the same
 * {@link Enqueuer} as an HTTP invoke (stored with acks=all before the future completes). The tenant
 * is the owner of the target namespace; the function must be known; the payload must fit the
 * tenant's limit (else {@link ConnectorContext.Rejected}). The dedupe key is the invocation's
 * idempotency key (prefixed {@code trigger:}), so a replayed event answers the id it got the first
 * time and queues nothing, on every replica and after restarts.
 */
public final class Submissions implements ConnectorContext {
  private final Vertx vertx;
  private final Tenants tenants;
  private final FunctionRegistry functions;
  private final Enqueuer enqueuer;
  private final StatusStore status;
  private final Metrics metrics;
  private final Time clock;
  private final String bootstrap;
  private final ConnectorState state;
  private final Leases leases;

  private final dev.conveyor.engine.tenancy.Placement placement;
  private final dev.conveyor.engine.tenancy.Backlog backlog;
  private final java.util.function.Function<String, java.util.Optional<dev.conveyor.engine.metering.BudgetLedger.State>> budgetRefusal;

  public Submissions(Vertx vertx, Tenants tenants, FunctionRegistry functions, Enqueuer enqueuer, StatusStore status,
      Metrics metrics, Time clock, String bootstrap, ConnectorState state, Leases leases,
      dev.conveyor.engine.tenancy.Placement placement, dev.conveyor.engine.tenancy.Backlog backlog,
      java.util.function.Function<String, java.util.Optional<dev.conveyor.engine.metering.BudgetLedger.State>> budgetRefusal) {
    this.budgetRefusal = budgetRefusal;
    this.placement = placement;
    this.backlog = backlog;
    this.vertx = vertx;
    this.tenants = tenants;
    this.functions = functions;
    this.enqueuer = enqueuer;
    this.status = status;
    this.metrics = metrics;
    this.clock = clock;
    this.bootstrap = bootstrap;
    this.state = state;
    this.leases = leases;
  }

  @Override
  public Future<String> outcome(String invocationId) {
    io.vertx.core.Context ctx = vertx.getOrCreateContext();
    io.vertx.core.Promise<String> p = io.vertx.core.Promise.promise();
    Runnable forget = status.await(invocationId, st -> st.status().terminal(),
        e -> dev.conveyor.engine.futures.Futures.completeOn(ctx, () -> p.tryComplete(e.status().status().name())));
    return p.future().onComplete(ar -> forget.run());
  }

  @Override
  public Future<String> loadState(String key) {
    return inContext(state.load(key));
  }

  @Override
  public Future<Void> saveState(String key, String value) {
    return inContext(state.save(key, value));
  }

  /** Completes on the caller's context (the state store answers on Kafka's threads). */
  private <T> Future<T> inContext(Future<T> f) {
    io.vertx.core.Context ctx = vertx.getOrCreateContext();
    io.vertx.core.Promise<T> p = io.vertx.core.Promise.promise();
    f.onComplete(ar -> dev.conveyor.engine.futures.Futures.completeOn(ctx, () -> p.handle(ar)));
    return p.future();
  }

  @Override
  public Leadership lead(String lock, io.vertx.core.Handler<Boolean> onChange) {
    return leases.lead(lock, onChange);
  }

  @Override
  public ConnectorMetrics metrics(String connector, String type) {
    return metrics.connector(connector, type);
  }

  @Override
  public Vertx vertx() {
    return vertx;
  }

  @Override
  public String kafkaBootstrapServers() {
    return bootstrap;
  }

  @Override
  public Future<String> submit(Submission s) {
    Tenant tenant = tenants.owner(s.namespace()).orElse(null);
    if (tenant == null) return Future.failedFuture(new Rejected("no tenant owns namespace " + s.namespace()));
    FunctionTarget target = functions.find(s.namespace(), s.function()).orElse(null);
    if (target == null) return Future.failedFuture(new Rejected("no function " + s.namespace() + "/" + s.function()));
    if (s.payload().length > tenant.limits().maxPayloadBytes()) {
      return Future.failedFuture(new Rejected("payload of " + s.payload().length + " bytes is over the tenant's limit"));
    }
    if (target.memoryMiB() > dev.conveyor.engine.config.ConfigLoader.memoryPerLane(tenant.limits())) {
      return Future.failedFuture(new Rejected("function " + s.namespace() + "/" + s.function() + " needs " + target.memoryMiB()
          + " MiB, more than tenant " + tenant.name() + " lets one invocation hold (maxMemoryInFlightMiB over its lanes)"));
    }
    String key = s.dedupeKey() == null ? null : "trigger:" + s.dedupeKey();
    if (key != null && key.length() > 255) return Future.failedFuture(new Rejected("dedupe key longer than 250 characters"));
    Map<String, String> pass = new java.util.LinkedHashMap<>();
    s.headers().forEach((k, v) -> pass.put(k.toLowerCase(Locale.ROOT), v));
    if (key != null) {
      String known = status.idempotent(tenant.name(), s.namespace(), s.function(), key).orElse(null);
      if (known != null) {
        InvocationStatus st = status.get(known).map(StatusStore.Entry::status).orElse(null);
        // Past queued, the invocation was stored for sure. Still queued, it may be a reservation a crash
        // cut short: store it again under the same id (a second copy of a stored one is dropped at dispatch).
        if (st == null || st.status() != dev.conveyor.engine.api.InvocationState.queued) return Future.succeededFuture(known);
        return enqueuer.store(invocation(known, st.acceptedAt(), tenant, s, pass, key, st.traceId())).map(v -> known);
      }
    }
    if (backlog.full(tenant.name(), tenant.limits().maxQueued()).isPresent()) {
      metrics.rejected(tenant.name(), "queued");
      // Not a Rejected: the connector tries again later, which is the back-pressure a full queue asks for.
      return Future.failedFuture(new IllegalStateException("tenant " + tenant.name() + " has maxQueued invocations not finished"));
    }
    var spent = budgetRefusal.apply(tenant.name());
    if (spent.isPresent()) {
      metrics.rejected(tenant.name(), "budget");
      // Back-pressure, as for a full queue: the connector tries again later (a Kafka trigger holds its
      // place), so no event is lost while the budget is spent; it flows again when the period ends or
      // the budget is raised.
      return Future.failedFuture(new IllegalStateException("tenant " + tenant.name() + "'s " + spent.get().budget().period()
          + " budget is spent until " + spent.get().window().end()));
    }
    Instant now = clock.now();
    Invocation inv = invocation(placement.newId(tenant.name(), s.namespace(), s.function(), now.toEpochMilli()), now, tenant, s, pass, key, null);
    Future<InvocationStatus> stored = key == null ? enqueuer.enqueue(inv) : enqueuer.reserveThenEnqueue(inv);
    return stored.map(st -> {
      backlog.accepted(tenant.name(), st.id());
      metrics.accepted(tenant.name(), s.namespace(), s.function());
      metrics.triggered(s.trigger(), tenant.name());
      return st.id();
    });
  }

  private static Invocation invocation(String id, Instant acceptedAt, Tenant tenant, Submission s, Map<String, String> pass,
      String key, String traceId) {
    return InvocationBuilder.builder().id(id).tenant(tenant.name()).namespace(s.namespace()).function(s.function())
        .contentType(s.contentType()).payload(s.payload()).passHeaders(pass).acceptedAt(acceptedAt).idempotencyKey(key)
        .traceparent(Tracing.mint(traceId)).trigger(s.trigger()).maxAttempts(s.maxAttempts()).build();
  }
}
