package dev.conveyor.connector.cron;

import dev.conveyor.connector.spi.ConnectorContext;
import dev.conveyor.connector.spi.ConnectorContext.ConnectorMetrics;
import dev.conveyor.connector.spi.ConnectorContext.Leadership;
import dev.conveyor.connector.spi.ConnectorContext.Submission;
import dev.conveyor.connector.spi.TriggerConnector;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fires a {@link Schedule}: each tick becomes one invocation of the target function, on the one
 * replica that holds the schedule's lease ({@link ConnectorContext#lead}).
 *
 * <p>Exactly once per tick, across replicas and crashes:
 * <ul>
 *   <li>only the leader fires;
 *   <li>each tick's dedupe key is {@code cron:<name>:<tick>}, so a tick fired twice (a leader killed
 *       after queueing it but before saving it, then replayed by its successor) answers the first
 *       invocation and queues nothing;
 *   <li>after each tick is queued, it is saved as the schedule's last tick
 *       ({@link ConnectorContext#saveState}); a new leader starts from there and applies the
 *       missed-tick policy to what came due in between.
 * </ul>
 *
 * <p>The function gets the tick as a CloudEvent in binary mode, as Knative's PingSource sends it:
 * {@code ce-type: dev.conveyor.schedule.tick.v1}, {@code ce-source: //conveyor/schedules/<name>},
 * {@code ce-id: <name>:<tick>}, {@code ce-time: <tick>}, with the configured payload.
 */
final class CronTrigger implements TriggerConnector {
  private static final Logger LOG = LoggerFactory.getLogger(CronTrigger.class);
  private static final long RETRY_MS = 1000;

  private final String name;
  private final Schedule schedule;
  private final String namespace;
  private final String function;
  private final byte[] payload;
  private final String contentType;
  private final Clock clock;
  private final ArrayDeque<Instant> toFire = new ArrayDeque<>();
  private ConnectorContext context;
  private ConnectorMetrics metrics;
  private Vertx vertx;
  private Leadership leadership;
  private boolean leading;
  private boolean firing;
  private long epoch; // bumped whenever leadership changes: callbacks of an older term do nothing
  private long timer = -1;
  private Instant last;

  CronTrigger(String name, Schedule schedule, String namespace, String function, String payload, String contentType, Clock clock) {
    this.name = name;
    this.schedule = schedule;
    this.namespace = namespace;
    this.function = function;
    this.payload = payload.getBytes(StandardCharsets.UTF_8);
    this.contentType = contentType;
    this.clock = clock;
  }

  private String stateKey() {
    return "cron:" + name;
  }

  @Override
  public Future<Void> start(ConnectorContext ctx) {
    this.context = ctx;
    this.vertx = ctx.vertx();
    this.metrics = ctx.metrics(name, "cron");
    leadership = ctx.lead("schedule-" + name, this::leading);
    return Future.succeededFuture();
  }

  private void leading(boolean now) {
    epoch++;
    leading = now;
    cancelTimer();
    toFire.clear();
    firing = false;
    if (!now) return;
    long term = epoch;
    context.loadState(stateKey()).onComplete(ar -> {
      if (term != epoch) return;
      if (ar.failed()) {
        LOG.warn("schedule {}: its last tick could not be read ({}); again in 1 s", name, ar.cause().toString());
        vertx.setTimer(RETRY_MS, id -> {
          if (term == epoch) leading(true);
        });
        return;
      }
      Instant start = clock.instant();
      last = ar.result() == null ? null : Instant.parse(ar.result());
      toFire.addAll(schedule.missed(last, start));
      if (!toFire.isEmpty()) {
        LOG.info("schedule {}: {} tick(s) missed since {}; firing {} (missedTicks: {})", name,
            schedule.due(last, start, true).size(), last, toFire.size(), schedule.policy());
      }
      // From here on, every tick is fired; the ones before now were settled by the policy.
      if (last == null || last.isBefore(start)) last = toFire.isEmpty() ? start : toFire.peekLast();
      fireNext(term);
    });
  }

  /** Fires what is due, one tick at a time, then sleeps until the next tick. */
  private void fireNext(long term) {
    if (term != epoch || !leading || firing) return;
    Instant now = clock.instant();
    for (Instant t : schedule.due(last, now, false)) {
      if (toFire.isEmpty() || toFire.peekLast().isBefore(t)) toFire.add(t);
    }
    Instant tick = toFire.peek();
    metrics.lagSeconds(tick == null ? 0 : Math.max(0, Duration.between(tick, now).toMillis() / 1000.0));
    if (tick == null) {
      schedule.after(last).ifPresent(next -> {
        long delay = Math.max(1, Duration.between(now, next).toMillis());
        cancelTimer();
        timer = vertx.setTimer(delay, id -> {
          timer = -1;
          fireNext(term);
        });
      });
      return;
    }
    firing = true;
    context.submit(submission(tick))
        .recover(err -> err instanceof ConnectorContext.Rejected ? Future.succeededFuture(null) : Future.failedFuture(err))
        .compose(id -> {
          if (id == null) LOG.warn("schedule {}: the tick {} was refused; the schedule goes on", name, tick);
          return context.saveState(stateKey(), tick.toString());
        })
        .onComplete(ar -> {
          if (term != epoch) return;
          firing = false;
          if (ar.failed()) {
            LOG.warn("schedule {}: tick {} not stored yet ({}); again in 1 s", name, tick, ar.cause().toString());
            timer = vertx.setTimer(RETRY_MS, id -> {
              timer = -1;
              fireNext(term);
            });
            return;
          }
          toFire.poll();
          metrics.received(1);
          if (tick.isAfter(last)) last = tick;
          fireNext(term);
        });
  }

  private Submission submission(Instant tick) {
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("ce-specversion", "1.0");
    headers.put("ce-type", "dev.conveyor.schedule.tick.v1");
    headers.put("ce-source", "//conveyor/schedules/" + name);
    headers.put("ce-id", name + ":" + tick);
    headers.put("ce-time", tick.toString());
    return new Submission(namespace, function, contentType, payload, headers, "cron:" + name + ":" + tick, "cron");
  }

  private void cancelTimer() {
    if (timer >= 0) vertx.cancelTimer(timer);
    timer = -1;
  }

  @Override
  public Future<Void> stop() {
    if (leadership == null) return Future.succeededFuture();
    Leadership l = leadership;
    leadership = null;
    Future<Void> released = l.release();
    epoch++;
    leading = false;
    cancelTimer();
    return released;
  }
}
