package dev.conveyor.engine.connect;

import dev.conveyor.engine.futures.Futures;
import dev.conveyor.connector.spi.ConnectorContext.Leadership;
import dev.conveyor.engine.config.ConveyorConfig.LeaderElection;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectorBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leader election for connectors across gateway replicas: one Kubernetes {@code Lease}
 * ({@code conveyor-<lock>}) per lock through fabric8's {@code LeaderElector}, which renews it every
 * {@code retryPeriod} and gives it up when it cannot renew within {@code renewDeadline}; a replica
 * killed outright loses it when {@code leaseDuration} runs out. The elector's blocking Kubernetes
 * calls run on its own daemon threads (never an event loop); the callbacks hop back to the caller's
 * Vert.x context. Without a client (leader election off: one process, the embedded default) the
 * caller leads at once.
 */
public final class Leases implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Leases.class);

  private final Vertx vertx;
  private final dev.conveyor.engine.time.Time time;
  private final KubernetesClient client;
  private final LeaderElection settings;
  private final String identity;
  private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "conveyor-lease");
    t.setDaemon(true);
    return t;
  });

  /** {@code client} null: leader election is off and every lock is held at once. */
  public Leases(Vertx vertx, dev.conveyor.engine.time.Time time, KubernetesClient client, LeaderElection settings, String identity) {
    this.vertx = vertx;
    this.time = time;
    this.client = client;
    this.settings = settings;
    this.identity = identity;
  }

  public Leadership lead(String lock, Handler<Boolean> onChange) {
    Context ctx = vertx.getOrCreateContext();
    AtomicBoolean leading = new AtomicBoolean();
    Handler<Boolean> change = now -> ctx.runOnContext(v -> {
      if (leading.getAndSet(now) != now) onChange.handle(now);
    });
    if (client == null) {
      change.handle(true);
      return () -> {
        change.handle(false);
        return Future.succeededFuture();
      };
    }
    String name = "conveyor-" + lock.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
    LeaderElectionConfig config = new LeaderElectionConfig(new LeaseLock(settings.namespace(), name, identity),
        settings.leaseDuration(), settings.renewDeadline(), settings.retryPeriod(),
        new LeaderCallbacks(() -> {
          LOG.info("leading {} as {}", name, identity);
          change.handle(true);
        }, () -> {
          LOG.info("no longer leading {}", name);
          change.handle(false);
        }, leader -> LOG.debug("{} is led by {}", name, leader)), true, name);
    AtomicBoolean released = new AtomicBoolean();
    AtomicReference<CompletableFuture<?>> running = new AtomicReference<>();
    elect(config, released, running);
    return () -> {
      released.set(true);
      // Cancelling the elector gives the Lease up at once (releaseOnCancel), so a successor need not wait it out.
      // It is a blocking Kubernetes call, so it runs on the elector's thread.
      CompletableFuture<?> r = running.get();
      change.handle(false);
      if (r == null || executor.isShutdown()) return Future.succeededFuture();
      return Futures.vertx(CompletableFuture.runAsync(() -> r.cancel(true), executor));
    };
  }

  /** One election; when it ends (the lease lost, or never won before an error), the next one starts. */
  private void elect(LeaderElectionConfig config, AtomicBoolean released, AtomicReference<CompletableFuture<?>> running) {
    if (released.get() || executor.isShutdown()) return;
    CompletableFuture<?> f = new LeaderElectorBuilder(client, executor).withConfig(config).build().start();
    running.set(f);
    f.whenComplete((v, err) -> {
      if (released.get()) return;
      if (err != null) LOG.warn("leader election for {} ended: {}; trying again", config.getName(), err.toString());
      time.setTimer(settings.retryPeriod().toMillis(), () -> elect(config, released, running));
    });
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
