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
 * previous answered. Latencies go to an HdrHistogram (microseconds); the count of expected answers
 * is sampled every second for the throughput-over-time plot. One event loop, so the generator's
 * CPU share is the same whichever server it measures.
 */
public final class LoadGenerator implements AutoCloseable {
  /** What one run measured. */
  public record Run(String target, int round, long ok, long failed, double seconds, Histogram latencyMicros, List<Long> perSecond) {
    public double throughput() {
      return ok / seconds;
    }
  }

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true));

  public Run run(String target, int round, int port, String path, String key, Buffer body, int connections, int seconds, int expectStatus)
      throws InterruptedException {
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
    List<Long> perSecond = new ArrayList<>();
    long last = 0;
    while (!done.await(1, TimeUnit.SECONDS)) {
      long now = ok.get();
      perSecond.add(now - last);
      last = now;
    }
    double elapsed = (System.nanoTime() - started) / 1e9;
    client.close();
    return new Run(target, round, ok.get(), failed.get(), elapsed, recorder.getIntervalHistogram(), perSecond);
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
