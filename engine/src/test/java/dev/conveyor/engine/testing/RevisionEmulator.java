package dev.conveyor.engine.testing;

import dev.conveyor.engine.testing.FunctionServer.Answer;
import dev.conveyor.engine.testing.FunctionServer.Call;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SelfSignedCertificate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * A Knative Service's URL with one revision behind it, behaving as knative/serving's data path does
 * (read from its source, serving @ 98e5ef90, 2026-08):
 *
 * <ul>
 *   <li><b>Activator at zero</b> ({@code pkg/activator/net/throttler.go}, {@code handler/handler.go}): a
 *       request to a revision with no ready pod is held in the throttler until a pod is ready; with
 *       containerConcurrency 0 its queue is unbounded, else it holds up to {@code breakerQueueDepth}
 *       (10,000) and answers {@code 503 pending request queue full\n} beyond. The Activator's timeout
 *       handler ({@code cmd/activator/main.go}, {@code pkg/http/handler/timeout.go}) answers
 *       {@code 504 activator request timeout} (no newline) when the revision's {@code timeoutSeconds}
 *       pass first. It adds no response header (no {@code Server-Timing}). The first held request
 *       triggers the scale from zero; a pod is ready {@code readinessDelayMs} later.
 *   <li><b>Activator in the path while warm</b> (the SKS stays in proxy mode while the excess burst
 *       capacity is negative, {@code kpa.go}): the throttler sends each pod at most containerConcurrency
 *       calls and holds the rest.
 *   <li><b>queue-proxy per pod</b> ({@code pkg/queue/sharedmain/main.go buildBreaker}, {@code breaker.go}):
 *       containerConcurrency calls run, {@code 10 × containerConcurrency} wait, the next is answered
 *       {@code 503 pending request queue full\n} at once; containerConcurrency 0 means no breaker. Its
 *       timeout handler answers {@code 504 request timeout} after {@code timeoutSeconds}, queue time included.
 * </ul>
 * Like the Activator and queue-proxy, it serves HTTP/2 without TLS (h2c, prior knowledge) beside
 * HTTP/1.1 on its one port: both listen through {@code knative.dev/pkg/network.NewServer}, which wraps
 * their handler in {@code h2c.NewHandler} ({@code vendor/knative.dev/pkg/network/h2c.go}); Vert.x's
 * server takes h2c by default. {@link #protocols()} tells which a call came over, {@link #connections()}
 * on how many connections. The test is told when pods become ready ({@code onScale}), as the autoscaler would write
 * {@code actualReplicas}. All state lives on the server's one event loop.
 */
public final class RevisionEmulator implements AutoCloseable {
  static final String QUEUE_FULL = "pending request queue full\n";
  static final int ACTIVATOR_QUEUE_DEPTH = 10_000;

  /** The knobs Knative has. {@code readinessDelayMs} < 0: no pod ever becomes ready. */
  public record Knobs(int containerConcurrency, long timeoutMs, long readinessDelayMs, boolean activatorInPath, int activatorQueueDepth) {
    public static Knobs of(int containerConcurrency, long timeoutMs) {
      return new Knobs(containerConcurrency, timeoutMs, 0, true, ACTIVATOR_QUEUE_DEPTH);
    }

    public Knobs readinessDelay(long ms) {
      return new Knobs(containerConcurrency, timeoutMs, ms, activatorInPath, activatorQueueDepth);
    }

    public Knobs neverReady() {
      return readinessDelay(-1);
    }

    /** Warm traffic goes straight to the pods (the excess burst capacity is positive). */
    public Knobs activatorOutOfPath() {
      return new Knobs(containerConcurrency, timeoutMs, readinessDelayMs, false, activatorQueueDepth);
    }
  }

  private final class Pod {
    int running;
    int peakRunning;
    int peakWaiting;
    final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  }

  private final Vertx vertx = Vertx.vertx();
  private final Context context = vertx.getOrCreateContext();
  private final HttpServer server;
  private final Knobs knobs;
  private final SelfSignedCertificate certificate;
  private final List<Pod> pods = new ArrayList<>();
  private final ArrayDeque<Runnable> held = new ArrayDeque<>(); // in the Activator's throttler
  private int throughActivator; // calls the Activator has sent on and not yet seen answered
  private boolean scaling;
  private int nextPod;
  private volatile Function<Call, Answer> behaviour = c -> Answer.ok();
  private volatile IntConsumer onScale = n -> {};
  private final AtomicInteger activatorTimeouts = new AtomicInteger();
  private final AtomicInteger queueFull = new AtomicInteger();
  private final AtomicInteger functionCalls = new AtomicInteger();
  private final List<Long> heldMs = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final java.util.Set<io.vertx.core.http.HttpVersion> protocols = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.Set<Object> connections = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** A revision at {@code readyPods} pods; {@code tls}: served over https with a self-signed certificate for localhost. */
  public RevisionEmulator(Knobs knobs, int readyPods, boolean tls) {
    this.knobs = knobs;
    for (int i = 0; i < readyPods; i++) pods.add(new Pod());
    HttpServerOptions options = new HttpServerOptions();
    certificate = tls ? SelfSignedCertificate.create("localhost") : null;
    if (tls) options.setSsl(true).setKeyCertOptions(certificate.keyCertOptions());
    CompletableFuture<HttpServer> started = new CompletableFuture<>();
    context.runOnContext(v -> vertx.createHttpServer(options).requestHandler(this::handle).listen(0, "127.0.0.1")
        .onComplete(ar -> {
          if (ar.succeeded()) started.complete(ar.result());
          else started.completeExceptionally(ar.cause());
        }));
    try {
      server = started.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  public RevisionEmulator behave(Function<Call, Answer> b) {
    this.behaviour = b;
    return this;
  }

  /** Called with the ready pods' count when it changes (the test writes it as the autoscaler would). */
  public RevisionEmulator onScale(IntConsumer listener) {
    this.onScale = listener;
    return this;
  }

  public String url() {
    return (certificate != null ? "https://localhost:" : "http://127.0.0.1:") + server.actualPort();
  }

  /** The PEM of the certificate an https emulator serves (its own CA: self-signed). */
  public String caPem() throws java.io.IOException {
    return java.nio.file.Files.readString(java.nio.file.Path.of(certificate.certificatePath()));
  }

  private void handle(HttpServerRequest req) {
    long arrived = System.nanoTime();
    protocols.add(req.version());
    connections.add(req.connection());
    req.body().onSuccess(body -> {
      Request r = new Request(req, body, arrived);
      if (pods.isEmpty() || knobs.activatorInPath()) activator(r);
      else queueProxy(r, pods.get(nextPod++ % pods.size()), () -> {});
    });
  }

  /** One call; answered once, by whichever of the Activator, queue-proxy or the function gets there first. */
  private static final class Request {
    final HttpServerRequest req;
    final Buffer body;
    final long arrived;
    boolean answered;

    Request(HttpServerRequest req, Buffer body, long arrived) {
      this.req = req;
      this.body = body;
      this.arrived = arrived;
    }

    void answer(int status, String body, String serverTiming, boolean goError) {
      if (answered) return;
      answered = true;
      var resp = req.response().setStatusCode(status);
      if (goError) resp.putHeader("content-type", "text/plain; charset=utf-8").putHeader("x-content-type-options", "nosniff");
      if (serverTiming != null) resp.putHeader("server-timing", serverTiming);
      resp.end(body);
    }
  }

  // The Activator: hold while there is no pod (or no slot on one), time out after timeoutSeconds.
  private void activator(Request r) {
    int cc = knobs.containerConcurrency();
    if (cc > 0 && held.size() >= knobs.activatorQueueDepth()) {
      queueFull.incrementAndGet();
      r.answer(503, QUEUE_FULL, null, true); // http.Error: text/plain, nosniff, trailing newline
      return;
    }
    boolean[] forwarded = {false};
    Runnable forward = () -> {
      if (r.answered) return; // timed out while held
      forwarded[0] = true;
      heldMs.add((System.nanoTime() - r.arrived) / 1_000_000);
      throughActivator++;
      queueProxy(r, pods.get(nextPod++ % pods.size()), () -> {
        throughActivator--;
        releaseHeld();
      });
    };
    vertx.setTimer(knobs.timeoutMs(), id -> {
      if (r.answered) return;
      if (!forwarded[0]) held.remove(forward);
      activatorTimeouts.incrementAndGet();
      r.answer(504, "activator request timeout", null, false); // the timeout handler: no newline, no content type
    });
    held.add(forward);
    releaseHeld();
    if (pods.isEmpty() && !scaling && knobs.readinessDelayMs() >= 0) {
      scaling = true; // the first request reports concurrency at once and the autoscaler scales from zero
      vertx.setTimer(Math.max(1, knobs.readinessDelayMs()), id -> scaleTo(1));
    }
  }

  /** The throttler sends on what the ready pods have room for (containerConcurrency each; 0 = no bound). */
  private void releaseHeld() {
    int cc = knobs.containerConcurrency();
    while (!held.isEmpty() && !pods.isEmpty() && (cc == 0 || throughActivator < cc * pods.size())) held.poll().run();
  }

  /** Scales the revision to {@code n} ready pods (what the autoscaler decides), releasing held calls. */
  public void scale(int n) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      scaleTo(n);
      done.complete(null);
    });
    done.join();
  }

  private void scaleTo(int n) {
    while (pods.size() < n) pods.add(new Pod());
    while (pods.size() > n) pods.remove(pods.size() - 1);
    if (n == 0) scaling = false;
    onScale.accept(n);
    releaseHeld();
  }

  // queue-proxy: its breaker (cc running, 10 × cc waiting) and its own timeout handler around it.
  private void queueProxy(Request r, Pod pod, Runnable done) {
    int cc = knobs.containerConcurrency();
    if (cc > 0 && pod.running >= cc && pod.waiting.size() >= 10 * cc) {
      queueFull.incrementAndGet();
      r.answer(503, QUEUE_FULL, null, true);
      done.run();
      return;
    }
    boolean[] ended = {false};
    Runnable end = () -> {
      if (ended[0]) return;
      ended[0] = true;
      done.run();
    };
    vertx.setTimer(knobs.timeoutMs(), id -> {
      if (r.answered) return;
      r.answer(504, "request timeout", null, false);
      end.run(); // a waiting call stays queued and is skipped when its turn comes
    });
    Runnable run = () -> {
      pod.running++;
      pod.peakRunning = Math.max(pod.peakRunning, pod.running);
      functionCalls.incrementAndGet();
      String id = r.req.getHeader("x-conveyor-invocation-id");
      String attempt = r.req.getHeader("x-conveyor-attempt");
      Call call = new Call(r.req.path(), id, attempt == null ? 0 : Integer.parseInt(attempt),
          MultiMap.caseInsensitiveMultiMap().addAll(r.req.headers()), r.body.toString(), r.req.query());
      Answer a = behaviour.apply(call);
      vertx.setTimer(Math.max(1, a.delayMs()), t -> {
        pod.running--;
        r.answer(a.status(), a.body() != null ? a.body() : r.body.toString(), a.serverTiming(), false);
        end.run();
        startNext(pod);
      });
    };
    if (cc == 0 || pod.running < cc) {
      run.run();
    } else {
      pod.waiting.add(() -> {
        if (r.answered) startNext(pod); // timed out while waiting: its slot goes to the next
        else run.run();
      });
      pod.peakWaiting = Math.max(pod.peakWaiting, pod.waiting.size());
    }
  }

  private void startNext(Pod pod) {
    Runnable next = pod.waiting.poll();
    if (next != null) next.run();
  }

  /** The most calls any pod ran at once. */
  public int peakRunningPerPod() {
    return onContext(() -> pods.stream().mapToInt(p -> p.peakRunning).max().orElse(0));
  }

  /** The most calls waiting in any pod's queue-proxy at once. */
  public int peakWaitingPerPod() {
    return onContext(() -> pods.stream().mapToInt(p -> p.peakWaiting).max().orElse(0));
  }

  public int activatorTimeouts() {
    return activatorTimeouts.get();
  }

  /** 503 {@code pending request queue full} answers, of the Activator and of queue-proxy. */
  public int queueFull() {
    return queueFull.get();
  }

  /** Calls that reached the function's container. */
  public int functionCalls() {
    return functionCalls.get();
  }

  /** The HTTP versions calls came over. */
  public java.util.Set<io.vertx.core.http.HttpVersion> protocols() {
    return java.util.Set.copyOf(protocols);
  }

  /** How many connections calls came over, in all. */
  public int connections() {
    return connections.size();
  }

  /** How long each call forwarded by the Activator was held there. */
  public List<Long> heldMs() {
    return List.copyOf(heldMs);
  }

  private <T> T onContext(java.util.function.Supplier<T> s) {
    CompletableFuture<T> f = new CompletableFuture<>();
    context.runOnContext(v -> f.complete(s.get()));
    return f.join();
  }

  @Override
  public void close() {
    vertx.close();
  }
}
