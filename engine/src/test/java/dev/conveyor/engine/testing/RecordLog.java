package dev.conveyor.engine.testing;

import dev.conveyor.engine.kafka.OutcomeUnknownException;
import dev.conveyor.engine.kafka.RecordSink;
import dev.conveyor.engine.status.StatusCodec;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * Kafka as a unit test sees it: every record sent, in order, on one log; sends that fail on demand,
 * as a broker that is down fails them; and the status topic read back into a {@link StatusStore} at
 * once, as {@code StatusReader} does (the same {@code read} and {@code apply} calls), so the store's
 * own rules (version order, a terminal status never replaced) hold as in the gateway.
 */
public final class RecordLog implements RecordSink {
  private final List<ProducerRecord<String, byte[]>> records = new ArrayList<>();
  private final String statusTopic;
  private StatusStore store;
  private Predicate<ProducerRecord<String, byte[]>> failing = r -> false;
  private int failures;

  public RecordLog(String statusTopic) {
    this.statusTopic = statusTopic;
  }

  /** The store the status topic is read back into. */
  public RecordLog readStatusInto(StatusStore store) {
    this.store = store;
    return this;
  }

  /**
   * Fails the sends that {@code which} matches, as a broker that does not answer (a delivery timeout:
   * the outcome unknown, retriable), until {@link #heal()}.
   */
  public synchronized void fail(Predicate<ProducerRecord<String, byte[]>> which) {
    failing = which;
  }

  public synchronized void heal() {
    failing = r -> false;
  }

  /** Sends refused so far. */
  public synchronized int failures() {
    return failures;
  }

  @Override
  public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record) {
    long offset;
    synchronized (this) {
      if (failing.test(record)) {
        failures++;
        return Future.failedFuture(new OutcomeUnknownException(new TimeoutException("the broker did not answer (test)")));
      }
      offset = records.size();
      records.add(record);
    }
    if (store != null && record.topic().equals(statusTopic) && record.value() != null) {
      var h = record.headers().lastHeader(StatusStore.WRITER);
      String writer = h == null ? null : new String(h.value(), StandardCharsets.US_ASCII);
      try {
        StatusCodec.Envelope e = store.read(record.value(), writer);
        if (e.status() != null) store.apply(e.status(), e.result(), store.own(writer), record.value());
      } catch (IOException ex) {
        throw new UncheckedIOException(ex);
      }
    }
    return Future.succeededFuture(new RecordMetadata(new TopicPartition(record.topic(), 0), offset, 0, 0L, 0, 0));
  }

  public synchronized List<ProducerRecord<String, byte[]>> all() {
    return List.copyOf(records);
  }

  public synchronized List<ProducerRecord<String, byte[]>> on(String topic) {
    return records.stream().filter(r -> r.topic().equals(topic)).toList();
  }

  /** A header's value as text, or null. */
  public static String header(ProducerRecord<String, byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
