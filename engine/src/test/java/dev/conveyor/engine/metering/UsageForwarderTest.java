package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.observability.Metrics;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.junit.jupiter.api.Test;

class UsageForwarderTest {

  /**
   * A consumer whose close does what KafkaConsumer's does on an interrupted thread: it throws
   * {@link InterruptException} (ConsumerNetworkClient.maybeThrowInterruptException, on the network
   * poll that would send the LeaveGroup) before the group learnt that the member left, so the
   * member keeps its partitions until its session times out.
   */
  static class Consumer extends MockConsumer<String, byte[]> {
    volatile boolean leftTheGroup;

    Consumer() {
      super("earliest");
    }

    @Override
    public void close(Duration timeout) {
      if (Thread.currentThread().isInterrupted()) throw new InterruptException(new InterruptedException());
      leftTheGroup = true;
      super.close(timeout);
    }
  }

  /** The close at the end of a consumer's thread, which an interrupt may have reached on its way out. */
  @Test
  void aConsumerClosedOnAnInterruptedThreadStillLeavesItsGroupAndTheFlagStays() {
    Consumer consumer = new Consumer();
    Thread.currentThread().interrupt();
    try {
      dev.conveyor.engine.kafka.KafkaClients.closeOnItsThread(consumer, Duration.ofSeconds(1), "a test");
      assertThat(consumer.leftTheGroup).isTrue();
      assertThat(Thread.currentThread().isInterrupted()).as("the interrupt kept for the thread's owner").isTrue();
    } finally {
      Thread.interrupted();
    }
    Consumer failing = new Consumer() {
      @Override
      public void close(Duration timeout) {
        throw new IllegalStateException("broken");
      }
    };
    dev.conveyor.engine.kafka.KafkaClients.closeOnItsThread(failing, Duration.ofSeconds(1), "a test"); // logged, not thrown
  }

  /** Stopped while it backs off between tries of a batch the billing system cannot take (nothing listens). */
  @Test
  void stoppedDuringABackoffItEndsTheWaitAndStillLeavesTheGroup() throws Exception {
    List<Throwable> uncaught = new CopyOnWriteArrayList<>();
    Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
    try (Metrics metrics = new Metrics()) {
      Consumer consumer = new Consumer();
      TopicPartition tp = new TopicPartition("usage", 0);
      consumer.schedulePollTask(() -> {
        consumer.rebalance(List.of(tp));
        consumer.updateBeginningOffsets(Map.of(tp, 0L));
        consumer.updateEndOffsets(Map.of(tp, 1L));
        consumer.addRecord(new ConsumerRecord<>("usage", 0, 0, "acme", "{\"id\":\"u1\"}".getBytes()));
      });
      UsageForwarder forwarder = new UsageForwarder(consumer, "usage",
          new ConveyorConfig.Forward(URI.create("http://127.0.0.1:1/events"), 10, Duration.ofSeconds(1), Duration.ofSeconds(30), null),
          metrics).start();
      await().atMost(Duration.ofSeconds(10)).until(() -> metrics.scrape().contains("conveyor_usage_forwarded_total{outcome=\"unreachable\"}"));
      forwarder.close(); // interrupts the backoff; joins its thread
      assertThat(consumer.leftTheGroup).as("its consumer closed, leaving the group").isTrue();
      assertThat(uncaught).as("exceptions that ended a thread").isEmpty();
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(before);
    }
  }
}
