package dev.conveyor.engine.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

class ConsumerThreadTest {

  /**
   * A gateway stopping while a lookup runs: its event loops are gone when the read ends. The read
   * completes on the reader's thread; nothing escapes as an uncaught exception (which, among other
   * things, fails any Awaitility wait running in the same JVM).
   */
  @Test
  void aReadWhoseCallersEventLoopStoppedCompletesOnTheReadersThreadAndThrowsNothing() throws Exception {
    Vertx vertx = Vertx.vertx();
    KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of("bootstrap.servers", "127.0.0.1:1"),
        new StringDeserializer(), new ByteArrayDeserializer());
    ConsumerThread reader = new ConsumerThread(consumer, "test-reader", 4);
    List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
    try {
      CountDownLatch release = new CountDownLatch(1);
      CompletableFuture<Future<String>> started = new CompletableFuture<>();
      vertx.runOnContext(v -> started.complete(reader.run(c -> {
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return "read";
      })));
      Future<String> read = started.get(10, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      release.countDown();
      assertThat(read.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)).isEqualTo("read");
      reader.close(); // waits for the reader's thread, so an exception it threw would be reported by now
      assertThat(uncaught).isEmpty();
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(before);
    }
  }
}
