package dev.conveyor.engine.kafka;

import io.vertx.core.Future;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Where records are stored: {@link KafkaSender} in the gateway, an in-memory log in unit tests. The
 * future completes, on the caller's context, once the record is stored; it fails with what Kafka said
 * ({@link KafkaSender#retriable} tells whether trying again may help).
 */
public interface RecordSink {
  Future<RecordMetadata> send(ProducerRecord<String, byte[]> record);
}
