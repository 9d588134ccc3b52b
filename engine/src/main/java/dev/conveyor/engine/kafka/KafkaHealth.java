package dev.conveyor.engine.kafka;

import dev.conveyor.engine.futures.Futures;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;

/**
 * Whether the broker answers, checked every {@code periodMs} with an async admin call (never on
 * the request path). The accept path reads the flag to answer 503 at once instead of waiting for
 * a send to time out.
 */
public final class KafkaHealth implements AutoCloseable {
  private final dev.conveyor.engine.time.Time time;
  private final Admin admin;
  private final AtomicBoolean reachable = new AtomicBoolean(false);
  private final AtomicReference<String> reason = new AtomicReference<>("kafka not checked yet");
  private final long timer;
  private final AtomicBoolean checking = new AtomicBoolean();

  public KafkaHealth(dev.conveyor.engine.time.Time time, Admin admin, long periodMs) {
    this.time = time;
    this.admin = admin;
    check();
    this.timer = time.setPeriodic(periodMs, this::check);
  }

  private void check() {
    if (!checking.compareAndSet(false, true)) return;
    Futures.jdk(admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000)).nodes()).whenComplete((nodes, err) -> {
      checking.set(false);
      if (err == null && nodes != null && !nodes.isEmpty()) {
        reachable.set(true);
        reason.set("ok");
      } else {
        reachable.set(false);
        reason.set("kafka unreachable");
      }
    });
  }

  /** Called when a send failed: stop accepting until the next check says otherwise. */
  public void markDown(String why) {
    reachable.set(false);
    reason.set(why);
  }

  public boolean reachable() {
    return reachable.get();
  }

  public String reason() {
    return reason.get();
  }

  @Override
  public void close() {
    time.cancelTimer(timer);
  }
}
