package dev.conveyor.engine.deadletter;

import dev.conveyor.engine.time.Time;
import dev.conveyor.engine.kafka.ConsumerThread;
import dev.conveyor.engine.kafka.KafkaClients;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/** Reads one record at a known position (a redrive's payload). */
public final class RecordFetcher implements AutoCloseable {
  private final ConsumerThread reader;

  private final Time clock;

  public RecordFetcher(KafkaClients clients, Time clock) {
    this.clock = clock;
    this.reader = new ConsumerThread(clients.consumer("conveyor-record-fetcher", null), "conveyor-record-fetcher", 64);
  }

  /** Completes on the caller's context; fails when the record is gone or cannot be read now. */
  public Future<ConsumerRecord<String, byte[]>> fetch(String topic, int partition, long offset) {
    return reader.run(consumer -> {
      TopicPartition tp = new TopicPartition(topic, partition);
      consumer.assign(List.of(tp));
      consumer.seek(tp, offset);
      long deadline = clock.nanos() + TimeUnit.SECONDS.toNanos(5);
      while (clock.nanos() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.offset() == offset) return r;
        }
      }
      return null;
    });
  }

  @Override
  public void close() {
    reader.close();
  }
}
