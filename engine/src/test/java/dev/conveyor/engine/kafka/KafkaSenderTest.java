package dev.conveyor.engine.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class KafkaSenderTest {
  /** Records which thread appended each record; a send to {@code slow} waits for {@link #release}. */
  static class Recording extends MockProducer<String, byte[]> {
    final List<String> threads = new CopyOnWriteArrayList<>();
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch slowEntered = new CountDownLatch(1);

    Recording() {
      this(true);
    }

    Recording(boolean autoComplete) {
      super(autoComplete, null, new StringSerializer(), new ByteArraySerializer());
    }

    @Override
    public java.util.concurrent.Future<RecordMetadata> send(ProducerRecord<String, byte[]> r, Callback cb) {
      threads.add(r.topic() + "@" + Thread.currentThread().getName());
      if (r.topic().equals("slow")) {
        slowEntered.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return super.send(r, cb);
    }
  }

  private static ProducerRecord<String, byte[]> record(String topic, String key) {
    return new ProducerRecord<>(topic, key, new byte[] {1});
  }

  private static RecordMetadata await(io.vertx.core.Future<RecordMetadata> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void shouldAppendOnTheCallersThreadOnlyToATopicWhoseMetadataIsLoaded() throws Exception {
    Recording producer = new Recording();
    try (KafkaSender sender = new KafkaSender(producer)) {
      sender.warm(List.of("known"));
      String caller = Thread.currentThread().getName();
      await(sender.send(record("known", "a")));
      await(sender.send(record("unknown", "b")));
      assertThat(producer.threads).containsExactly("known@" + caller, "unknown@conveyor-kafka-sender");
      awaitThreadDone(sender); // its ack may come before the thread counts it handed over
      await(sender.send(record("unknown", "c")));
      assertThat(producer.threads).as("stored once: its metadata is known now").endsWith("unknown@" + caller);
    }
  }

  @Test
  void aTopicWhoseMetadataDoesNotComeAtStartIsWrittenThroughTheThreadAndTheStartGoesOn() throws Exception {
    Recording producer = new Recording() {
      @Override
      public synchronized List<org.apache.kafka.common.PartitionInfo> partitionsFor(String topic) {
        if (topic.equals("fresh")) {
          throw new org.apache.kafka.common.errors.TimeoutException("Topic fresh not present in metadata after 1000 ms.");
        }
        return super.partitionsFor(topic);
      }
    };
    try (KafkaSender sender = new KafkaSender(producer)) {
      sender.warm(List.of("fresh", "known"));
      String caller = Thread.currentThread().getName();
      await(sender.send(record("known", "a")));
      await(sender.send(record("fresh", "b")));
      assertThat(producer.threads).containsExactly("known@" + caller, "fresh@conveyor-kafka-sender");
    }
  }

  @Test
  void shouldNeverLetARecordOvertakeOneWaitingForTheThread() throws Exception {
    Recording producer = new Recording();
    try (KafkaSender sender = new KafkaSender(producer)) {
      sender.warm(List.of("known"));
      var slow = sender.send(record("slow", "1"));
      assertThat(producer.slowEntered.await(10, TimeUnit.SECONDS)).isTrue();
      var second = sender.send(record("slow", "2"));
      var third = sender.send(record("known", "3"));
      assertThat(producer.history()).as("nothing appended while the first waits").isEmpty();
      producer.release.countDown();
      await(slow);
      await(second);
      await(third);
      assertThat(producer.history()).extracting(ProducerRecord::key).containsExactly("1", "2", "3");
      assertThat(producer.threads).allMatch(t -> t.endsWith("@conveyor-kafka-sender"));
    }
  }

  @Test
  void shouldLeaveTheCallersThreadWhenLessThanHalfTheBufferIsFree() throws Exception {
    double[] available = {32e6};
    Recording producer = withBuffer(32e6, available);
    // batches of 1 MB: an eighth of the buffer (4 MB) is four appends, after which the free buffer is read again
    try (KafkaSender sender = new KafkaSender(producer, 1_000_000)) {
      sender.warm(List.of("known"));
      String caller = Thread.currentThread().getName();
      await(sender.send(record("known", "a")));
      available[0] = 15e6;
      for (String key : List.of("b", "c", "d")) await(sender.send(record("known", key)));
      await(sender.send(record("known", "e")));
      awaitThreadDone(sender);
      available[0] = 32e6;
      await(sender.send(record("known", "f")));
      assertThat(producer.threads).containsExactly("known@" + caller, "known@" + caller, "known@" + caller, "known@" + caller,
          "known@conveyor-kafka-sender", "known@" + caller);
    }
  }

  @Test
  void shouldReadTheBufferAgainAfterTheThreadAppended() throws Exception {
    double[] available = {32e6};
    Recording producer = withBuffer(32e6, available);
    try (KafkaSender sender = new KafkaSender(producer, 1_000)) {
      sender.warm(List.of("known"));
      String caller = Thread.currentThread().getName();
      await(sender.send(record("known", "a"))); // found free: credit for 4 MB of appends here
      await(sender.send(record("cold", "b"))); // no metadata yet: through the thread, which may fill the buffer
      awaitThreadDone(sender);
      available[0] = 15e6;
      await(sender.send(record("known", "c")));
      assertThat(producer.threads).containsExactly("known@" + caller, "cold@conveyor-kafka-sender", "known@conveyor-kafka-sender");
    }
  }

  @Test
  void shouldCountARecordLargerThanABatchAtItsOwnSize() throws Exception {
    double[] available = {32e6};
    Recording producer = withBuffer(32e6, available);
    try (KafkaSender sender = new KafkaSender(producer, 1_000)) {
      sender.warm(List.of("known"));
      String caller = Thread.currentThread().getName();
      await(sender.send(new ProducerRecord<>("known", "a", new byte[3_000_000])));
      available[0] = 15e6;
      // 3 MB, then 2 MB: past the eighth (4 MB), so the buffer is read again, and found half taken
      await(sender.send(new ProducerRecord<>("known", "b", new byte[2_000_000])));
      assertThat(producer.threads).containsExactly("known@" + caller, "known@conveyor-kafka-sender");
    }
  }

  @Test
  void shouldSendThroughTheThreadAgainOnceATopicsSendFailedForAPassingReason() throws Exception {
    Recording producer = new Recording(false);
    try (KafkaSender sender = new KafkaSender(producer)) {
      sender.warm(List.of("known"));
      String caller = Thread.currentThread().getName();
      var first = sender.send(record("known", "a"));
      assertThat(producer.errorNext(new org.apache.kafka.common.errors.TimeoutException("no broker"))).isTrue();
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> await(first))
          .hasRootCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
      var second = sender.send(record("known", "b"));
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> producer.history().size() == 2);
      assertThat(producer.completeNext()).isTrue();
      await(second);
      awaitThreadDone(sender);
      var third = sender.send(record("known", "c"));
      assertThat(producer.completeNext()).isTrue();
      await(third);
      assertThat(producer.threads).containsExactly("known@" + caller, "known@conveyor-kafka-sender", "known@" + caller);
    }
  }

  private static void awaitThreadDone(KafkaSender sender) {
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> sender.waiting() == 0);
  }

  /** A producer whose buffer is {@code total} bytes, of which {@code available[0]} are free. */
  private static Recording withBuffer(double total, double[] available) {
    Recording producer = new Recording();
    producer.setMockMetrics(name("buffer-total-bytes"), metric(name("buffer-total-bytes"), () -> total));
    producer.setMockMetrics(name("buffer-available-bytes"), metric(name("buffer-available-bytes"), () -> available[0]));
    return producer;
  }

  private static MetricName name(String n) {
    return new MetricName(n, "producer-metrics", "", Map.of());
  }

  private static Metric metric(MetricName n, java.util.function.Supplier<Double> value) {
    return new Metric() {
      @Override
      public MetricName metricName() {
        return n;
      }

      @Override
      public Object metricValue() {
        return value.get();
      }
    };
  }

  /** A producer that refuses every record on the caller's call, through the callback, as KafkaProducer does. */
  static final class Refusing extends MockProducer<String, byte[]> {
    Refusing() {
      super(false, null, new StringSerializer(), new ByteArraySerializer());
    }

    @Override
    public java.util.concurrent.Future<RecordMetadata> send(ProducerRecord<String, byte[]> r, Callback cb) {
      cb.onCompletion(null, new org.apache.kafka.common.errors.TimeoutException("Topic t not present in metadata after 1000 ms."));
      return new java.util.concurrent.CompletableFuture<>();
    }
  }

  private static Throwable failure(io.vertx.core.Future<RecordMetadata> f) throws Exception {
    try {
      await(f);
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("the send succeeded");
  }

  @Test
  void aRecordTheProducerTookAndThatTimedOutHasAnUnknownOutcome() throws Exception {
    Recording producer = new Recording(false);
    try (KafkaSender sender = new KafkaSender(producer)) {
      sender.warm(List.of("t"));
      var timedOut = sender.send(record("t", "a"));
      var refused = sender.send(record("t", "b"));
      var leaderGone = sender.send(record("t", "c"));
      producer.errorNext(new org.apache.kafka.common.errors.TimeoutException("Expiring 1 record(s) for t-0: 10000 ms has passed"));
      producer.errorNext(new org.apache.kafka.common.errors.RecordTooLargeException("too large"));
      producer.errorNext(new org.apache.kafka.common.errors.NotEnoughReplicasAfterAppendException("appended, not replicated"));
      Throwable t = failure(timedOut);
      assertThat(t).isInstanceOf(OutcomeUnknownException.class)
          .hasCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
      assertThat(KafkaSender.retriable(t)).as("a retry may still succeed").isTrue();
      assertThat(failure(refused)).as("the broker refused it: not written").isInstanceOf(org.apache.kafka.common.errors.RecordTooLargeException.class);
      assertThat(failure(leaderGone)).isInstanceOf(OutcomeUnknownException.class);
    }
  }

  @Test
  void aRecordTheProducerNeverTookFailsAsItIsNotWritten() throws Exception {
    try (KafkaSender sender = new KafkaSender(new Refusing())) {
      sender.warm(List.of("t"));
      Throwable t = failure(sender.send(record("t", "a")));
      assertThat(t).as("refused on the caller's call: definitely not written")
          .isInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
      // through the sender's own thread too (metadata not loaded)
      assertThat(failure(sender.send(record("other", "b")))).isInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
    }
  }
}
