package dev.conveyor.connector.testkit;

import dev.conveyor.connector.spi.ConnectorContext;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A {@link ConnectorContext} in memory that behaves as the gateway promises: a dedupe key seen
 * before answers its first id and stores nothing; submissions can be made to fail for now
 * ({@link #failNext}) or for good ({@link #rejectWhen}); outcomes are {@code succeeded} unless set;
 * state is a map; leadership is held at once and can be taken away ({@link #setLeader}).
 */
public final class RecordingContext implements ConnectorContext {
  private final Vertx vertx;
  private final String bootstrap;
  private final Queue<Submission> stored = new ConcurrentLinkedQueue<>();
  private final Queue<Submission> attempts = new ConcurrentLinkedQueue<>();
  private final Map<String, String> idsByKey = new ConcurrentHashMap<>();
  private final Map<String, String> state = new ConcurrentHashMap<>();
  private final Map<String, String> outcomes = new ConcurrentHashMap<>();
  private final List<Runnable> leaders = new CopyOnWriteArrayList<>();
  private final AtomicInteger failNext = new AtomicInteger();
  private final AtomicLong received = new AtomicLong();
  private volatile Predicate<Submission> reject = s -> false;
  private volatile boolean leader = true;

  public RecordingContext(Vertx vertx, String kafkaBootstrapServers) {
    this.vertx = vertx;
    this.bootstrap = kafkaBootstrapServers;
  }

  @Override
  public Vertx vertx() {
    return vertx;
  }

  @Override
  public Future<String> submit(Submission s) {
    attempts.add(s);
    if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return Future.failedFuture(new IllegalStateException("the broker is unavailable (a test fault)"));
    }
    if (reject.test(s)) return Future.failedFuture(new Rejected("refused by the test"));
    if (s.dedupeKey() != null) {
      String[] fresh = {null};
      String id = idsByKey.computeIfAbsent(s.dedupeKey(), k -> fresh[0] = UUID.randomUUID().toString());
      if (fresh[0] != null) stored.add(s);
      return Future.succeededFuture(id);
    }
    stored.add(s);
    return Future.succeededFuture(UUID.randomUUID().toString());
  }

  @Override
  public Future<String> outcome(String invocationId) {
    return Future.succeededFuture(outcomes.getOrDefault(invocationId, "succeeded"));
  }

  @Override
  public Future<String> loadState(String key) {
    return Future.succeededFuture(state.get(key));
  }

  @Override
  public Future<Void> saveState(String key, String value) {
    state.put(key, value);
    return Future.succeededFuture();
  }

  @Override
  public Leadership lead(String lock, Handler<Boolean> onChange) {
    io.vertx.core.Context ctx = vertx.getOrCreateContext();
    Runnable tell = () -> {
      boolean now = leader;
      ctx.runOnContext(v -> onChange.handle(now));
    };
    leaders.add(tell);
    if (leader) tell.run();
    return () -> {
      leaders.remove(tell);
      return Future.succeededFuture();
    };
  }

  /** Gives every lock to this replica, or takes it away. */
  public void setLeader(boolean now) {
    leader = now;
    leaders.forEach(Runnable::run);
  }

  @Override
  public ConnectorMetrics metrics(String connector, String type) {
    return new ConnectorMetrics() {
      @Override
      public void received(long count) {
        received.addAndGet(count);
      }

      @Override
      public void lagRecords(String partition, long records) {}

      @Override
      public void lagSeconds(double seconds) {}
    };
  }

  @Override
  public String kafkaBootstrapServers() {
    return bootstrap;
  }

  /** The next {@code n} submissions fail as if the broker were down. */
  public void failNext(int n) {
    failNext.set(n);
  }

  public void rejectWhen(Predicate<Submission> p) {
    reject = p;
  }

  /** What the connector says an invocation ends with (default {@code succeeded}). */
  public void outcome(String invocationId, String status) {
    outcomes.put(invocationId, status);
  }

  /** Submissions stored (first of each dedupe key), in order. */
  public List<Submission> stored() {
    return new ArrayList<>(stored);
  }

  /** Every call of submit, failed ones and replays included. */
  public List<Submission> attempts() {
    return new ArrayList<>(attempts);
  }

  public long received() {
    return received.get();
  }

  public Map<String, String> state() {
    return state;
  }
}
