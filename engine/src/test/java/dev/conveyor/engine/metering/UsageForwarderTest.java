package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.observability.Metrics;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.errors.InterruptException;
import org.junit.jupiter.api.Test;

class UsageForwarderTest {

  /**
   * What KafkaConsumer does with an interrupted thread (ConsumerNetworkClient.maybeThrowInterruptException,
   * on every network poll): a poll waiting for records throws {@link InterruptException}, which keeps
   * the thread's interrupt flag set; and a close, whose LeaveGroup goes out on such a poll, throws it
   * too, before the group learnt that the member left (it keeps the partitions until its session times
   * out).
   */
  static final class Consumer extends MockConsumer<String, byte[]> {
    private final CountDownLatch polling = new CountDownLatch(1);
    volatile boolean leftTheGroup;

    Consumer() {
      super("earliest");
    }

    @Override
    public ConsumerRecords<String, byte[]> poll(Duration timeout) {
      polling.countDown();
      try {
        new CountDownLatch(1).await(); // no records: waits until interrupted
      } catch (InterruptedException e) {
        throw new InterruptException(e);
      }
      return ConsumerRecords.empty();
    }

    @Override
    public void wakeup() {
      // a wakeup would end the poll first; the interrupt that comes with it is the case at hand
    }

    @Override
    public void close(Duration timeout) {
      if (Thread.currentThread().isInterrupted()) throw new InterruptException(new InterruptedException());
      leftTheGroup = true;
      super.close(timeout);
    }
  }

  @Test
  void stoppingLeavesTheGroupThoughTheStopInterruptsItsThread() throws Exception {
    List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
    try (Metrics metrics = new Metrics()) {
      Consumer consumer = new Consumer();
      UsageForwarder forwarder = new UsageForwarder(consumer, "usage",
          new ConveyorConfig.Forward(URI.create("http://127.0.0.1:1/events"), 10, Duration.ofSeconds(1), Duration.ofSeconds(1), null),
          metrics).start();
      consumer.polling.await();
      forwarder.close(); // joins the forwarder's thread
      assertThat(consumer.leftTheGroup).as("its consumer closed, leaving the group").isTrue();
      assertThat(uncaught).as("exceptions that ended a thread").isEmpty();
      assertThat(Thread.currentThread().isInterrupted()).isFalse();
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(before);
    }
  }
}
