package dev.conveyor.bench;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Closed-loop HTTP load like wrk: {@code connections} clients each send the next request when the
 * previous answered; or open-loop ({@link #open}): requests sent on a fixed schedule whatever the
 * answers. Latencies go to an HdrHistogram (microseconds); the count of expected answers is sampled
 * every second (at whole seconds from the start, so the buckets do not drift) for the
 * throughput-over-time plot. One event loop, so the generator's CPU share is the same whichever
 * server it measures.
 */
public final class LoadGenerator implements AutoCloseable {
  /** What one run measured. */
  public record Run(String target, int round, long ok, long failed, double seconds, Histogram latencyMicros, List<Long> perSecond) {
    public double throughput() {
      return ok / seconds;
    }
  }

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true));

  /** Called at each whole second of a run (1, 2, ...) on the sampling thread, after that second's bucket was taken. */
  public interface Tick {
    void second(int n);
  }

  public Run run(String target, int round, int port, String path, String key, Buffer body, int connections, int seconds, int expectStatus)
      throws InterruptedException {
    return run(target, round, port, path, key, body, connections, seconds, expectStatus, n -> {});
  }

  /** The same, calling {@code tick} at each whole second (the warm scenario reads the processes' CPU there). */
  public Run run(String target, int round, int port, String path, String key, Buffer body, int connections, int seconds, int expectStatus,
      Tick tick) throws InterruptedException {
    HttpClientAgent client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
        .setDefaultHost("127.0.0.1").setDefaultPort(port), new PoolOptions().setHttp1MaxSize(connections));
    Recorder recorder = new Recorder(3);
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    CountDownLatch done = new CountDownLatch(connections);
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setURI(path)
        .putHeader("content-type", "application/json").putHeader("authorization", "Bearer " + key);
    long started = System.nanoTime();
    for (int c = 0; c < connections; c++) {
      vertx.runOnContext(v -> loop(client, opts, body, end, recorder, ok, failed, done, expectStatus));
    }
    List<Long> perSecond = perSecond(started, seconds, done, ok, tick);
    double elapsed = (System.nanoTime() - started) / 1e9;
    client.close();
    return new Run(target, round, ok.get(), failed.get(), elapsed, recorder.getIntervalHistogram(), perSecond);
  }

  /**
   * Takes {@code ok}'s count at each whole second from {@code started} until {@code done}. The last
   * second ends with the run (its last answers come a little after the clock's end): its bucket is
   * taken when the run is done, so a run of {@code seconds} has that many buckets.
   */
  private static List<Long> perSecond(long started, int seconds, CountDownLatch done, AtomicLong ok, Tick tick)
      throws InterruptedException {
    List<Long> perSecond = new ArrayList<>();
    long last = 0;
    long next = started + TimeUnit.SECONDS.toNanos(1);
    while (!done.await(Math.max(0, next - System.nanoTime()), TimeUnit.NANOSECONDS)) {
      long now = ok.get();
      perSecond.add(now - last);
      last = now;
      tick.second(perSecond.size());
      next += TimeUnit.SECONDS.toNanos(1);
    }
    if (perSecond.size() < seconds) {
      perSecond.add(ok.get() - last);
      tick.second(perSecond.size());
    }
    return perSecond;
  }

  /**
   * Open-loop load: {@code rate} requests a second, sent on a fixed schedule for {@code lead +
   * seconds} seconds whether or not earlier ones were answered, over at most {@code connections}
   * connections (a request that finds them all busy waits in the client's queue, and that wait
   * counts). Each latency runs from the request's scheduled send time, not from when it went out, so
   * a server that stalls is charged for every request it delayed (no coordinated omission). The
   * first {@code lead} seconds' requests warm the connections and the rate up and are not counted
   * (their buckets are 0; ticks cover all seconds). With more than two seconds' worth outstanding a request is
   * not sent and counts as failed: the server is not keeping up, and the queue must not grow
   * without bound.
   */
  public Run open(String target, int round, int port, String path, String key, Buffer body, int rate, int lead, int seconds,
      int connections, int expectStatus, Tick tick) throws InterruptedException {
    HttpClientAgent client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
        .setDefaultHost("127.0.0.1").setDefaultPort(port), new PoolOptions().setHttp1MaxSize(connections));
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setURI(path)
        .putHeader("content-type", "application/json").putHeader("authorization", "Bearer " + key);
    Recorder recorder = new Recorder(3);
    AtomicLong ok = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong outstanding = new AtomicLong();
    long counted = (long) rate * lead; // the index of the first counted request
    long total = counted + (long) rate * seconds;
    long limit = Math.max(1000, 2L * rate);
    CountDownLatch done = new CountDownLatch(1);
    AtomicLong finished = new AtomicLong();
    long[] next = {0}; // the next request's index (the event loop's alone)
    long started = System.nanoTime();
    Runnable answered = () -> {
      if (finished.incrementAndGet() == total) done.countDown();
    };
    // Every millisecond, sends what is due by now; each request keeps its scheduled instant. The timer
    // is set on the event loop's context: set from this thread, its ticks ran elsewhere and every
    // request crossed threads (a few hundred a second in all).
    vertx.runOnContext(v -> vertx.setPeriodic(1, id -> {
      long now = System.nanoTime();
      while (next[0] < total) {
        long i = next[0];
        long due = started + (long) (i * 1e9 / rate);
        if (due > now) break;
        next[0]++;
        boolean count = i >= counted;
        if (outstanding.get() >= limit) {
          if (count) failed.incrementAndGet();
          answered.run();
          continue;
        }
        outstanding.incrementAndGet();
        client.request(opts).compose(req -> req.send(body)).compose(resp -> resp.body().map(b -> resp.statusCode()))
            .onComplete(ar -> {
              outstanding.decrementAndGet();
              if (count && ar.succeeded() && ar.result() == expectStatus) {
                recorder.recordValue(Math.max(1, (System.nanoTime() - due) / 1000));
                ok.incrementAndGet();
              } else if (count) {
                failed.incrementAndGet();
              }
              answered.run();
            });
      }
      if (next[0] >= total) vertx.cancelTimer(id);
    }));
    // The clock ends when the last request is answered (bounded: 30 s after its scheduled time).
    List<Long> perSecond = new ArrayList<>();
    long last = 0;
    long nextSecond = started + TimeUnit.SECONDS.toNanos(1);
    long deadline = started + TimeUnit.SECONDS.toNanos(lead + seconds + 30L);
    while (System.nanoTime() < deadline) {
      boolean over = done.await(Math.max(0, nextSecond - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (over) break;
      long now = ok.get();
      perSecond.add(now - last);
      last = now;
      tick.second(perSecond.size());
      nextSecond += TimeUnit.SECONDS.toNanos(1);
    }
    if (perSecond.size() < lead + seconds) { // the last second's bucket ends with the last answer
      perSecond.add(ok.get() - last);
      tick.second(perSecond.size());
    }
    double elapsed = (System.nanoTime() - started) / 1e9 - lead;
    long lost = total - finished.get(); // not answered within 30 s of the end: failed
    client.close();
    return new Run(target, round, ok.get(), failed.get() + lost, elapsed, recorder.getIntervalHistogram(), perSecond);
  }

  private void loop(HttpClientAgent client, RequestOptions opts, Buffer body, long end, Recorder rec, AtomicLong ok,
      AtomicLong failed, CountDownLatch done, int expectStatus) {
    if (System.nanoTime() >= end) {
      done.countDown();
      return;
    }
    long t0 = System.nanoTime();
    client.request(opts).compose(req -> req.send(body)).compose(resp -> resp.body().map(b -> resp.statusCode()))
        .onComplete(ar -> {
          if (ar.succeeded() && ar.result() == expectStatus) {
            rec.recordValue(Math.max(1, (System.nanoTime() - t0) / 1000));
            ok.incrementAndGet();
          } else {
            failed.incrementAndGet();
          }
          loop(client, opts, body, end, rec, ok, failed, done, expectStatus);
        });
  }

  /** Sends exactly {@code count} requests answered {@code expectStatus} (failures are sent again), {@code connections} at a time. */
  public void send(int port, String path, String key, Buffer body, int connections, int count, int expectStatus)
      throws InterruptedException {
    HttpClientAgent client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
        .setDefaultHost("127.0.0.1").setDefaultPort(port), new PoolOptions().setHttp1MaxSize(connections));
    RequestOptions opts = new RequestOptions().setMethod(HttpMethod.POST).setURI(path)
        .putHeader("content-type", "application/json").putHeader("authorization", "Bearer " + key);
    AtomicLong left = new AtomicLong(count);
    CountDownLatch done = new CountDownLatch(connections);
    for (int c = 0; c < connections; c++) vertx.runOnContext(v -> sendLoop(client, opts, body, left, done, expectStatus));
    done.await();
    client.close();
  }

  private void sendLoop(HttpClientAgent client, RequestOptions opts, Buffer body, AtomicLong left, CountDownLatch done,
      int expectStatus) {
    if (left.getAndDecrement() <= 0) {
      done.countDown();
      return;
    }
    client.request(opts).compose(req -> req.send(body)).compose(resp -> resp.body().map(b -> resp.statusCode()))
        .onComplete(ar -> {
          if (!(ar.succeeded() && ar.result() == expectStatus)) left.incrementAndGet(); // not stored: send it again
          sendLoop(client, opts, body, left, done, expectStatus);
        });
  }

  @Override
  public void close() {
    vertx.close();
  }
}
