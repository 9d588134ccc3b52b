package dev.conveyor.engine.time;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SystemTimeTest {
  private final Vertx vertx = Vertx.vertx();
  private final Time time = Time.system(vertx);

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aDeadlineSetOnAnEventLoopRunsThereInItsContextUnlessCancelledFirst() throws Exception {
    Context ctx = vertx.getOrCreateContext();
    List<String> ran = new CopyOnWriteArrayList<>();
    CompletableFuture<Runnable> last = new CompletableFuture<>();
    ctx.runOnContext(v -> {
      Thread loop = Thread.currentThread();
      Runnable cancelled = time.deadline(10, () -> ran.add("cancelled"));
      Runnable[] kept = {null};
      kept[0] = time.deadline(40, () -> {
        ran.add("kept, on its event loop: " + (Thread.currentThread() == loop) + ", in its context: " + (Vertx.currentContext() == ctx));
        last.complete(kept[0]);
      });
      cancelled.run();
      cancelled.run(); // twice: nothing more
    });
    Runnable handleOfOneThatRan = last.get(5, TimeUnit.SECONDS);
    handleOfOneThatRan.run(); // after it ran: nothing
    // A third deadline, set after the first one's time had passed, runs after it would have.
    CompletableFuture<Void> after = new CompletableFuture<>();
    ctx.runOnContext(v -> time.deadline(1, () -> after.complete(null)));
    after.get(5, TimeUnit.SECONDS);
    assertThat(ran).containsExactly("kept, on its event loop: true, in its context: true");
  }

  @Test
  void offAnEventLoopADeadlineIsAVertxTimer() throws Exception {
    List<String> ran = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    Runnable cancelled = time.deadline(10, () -> ran.add("cancelled"));
    cancelled.run();
    time.deadline(40, () -> {
      ran.add("kept");
      done.complete(null);
    });
    done.get(5, TimeUnit.SECONDS);
    assertThat(ran).containsExactly("kept");
    // A worker's context is not an event loop's: the same.
    CompletableFuture<String> onWorker = new CompletableFuture<>();
    vertx.executeBlocking(() -> time.deadline(5, () -> onWorker.complete("ran"))).toCompletionStage().toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
    assertThat(onWorker.get(5, TimeUnit.SECONDS)).isEqualTo("ran");
  }

  @Test
  void aDeadlineCancelledFromAnotherThreadOrWhoseVerticleWasUndeployedDoesNotRun() throws Exception {
    List<String> ran = new CopyOnWriteArrayList<>();
    CompletableFuture<Runnable> set = new CompletableFuture<>();
    Context ctx = vertx.getOrCreateContext();
    ctx.runOnContext(v -> set.complete(time.deadline(30, () -> ran.add("cancelled from the test's thread"))));
    set.get(5, TimeUnit.SECONDS).run();
    String id = vertx.deployVerticle(new io.vertx.core.VerticleBase() {
      @Override
      public io.vertx.core.Future<?> start() throws Exception {
        time.deadline(30, () -> ran.add("set by an undeployed verticle"));
        return super.start();
      }
    }).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    vertx.undeploy(id).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    CompletableFuture<Void> later = new CompletableFuture<>();
    ctx.runOnContext(v -> time.deadline(80, () -> later.complete(null)));
    later.get(5, TimeUnit.SECONDS);
    assertThat(ran).isEmpty();
  }
}
