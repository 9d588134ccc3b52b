package dev.conveyor.engine.connect;

import dev.conveyor.engine.futures.Futures;
import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.kafka.TopicFollower;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Connectors' durable state, shared by every replica: the compacted topic {@code conveyor.connectors}
 * (one partition, latest value per key, kept forever) read from its beginning and followed into a
 * map, as Kafka Connect keeps its offsets. A save is acknowledged only once stored with acks=all;
 * a load waits until the replay reached the end the topic had at start, so a replica that becomes a
 * schedule's leader sees the last tick its predecessor saved.
 */
public final class ConnectorState implements AutoCloseable {
  private final Map<String, String> values = new ConcurrentHashMap<>();
  private final TopicFollower follower;
  private final KafkaSender sender;
  private final String topic;

  public ConnectorState(KafkaClients clients, KafkaSender sender, String topic) {
    this.sender = sender;
    this.topic = topic;
    this.follower = new TopicFollower(clients.consumer("conveyor-connector-state", null, new ByteArrayDeserializer(), Map.of()),
        topic, "conveyor-connector-state", r -> {
          if (r.key() == null) return;
          if (r.value() == null) values.remove(r.key());
          else values.put(r.key(), new String(r.value(), StandardCharsets.UTF_8));
        }).start();
  }

  public Future<String> load(String key) {
    return Futures.vertx(follower.caughtUp()).map(v -> values.get(key));
  }

  public Future<Void> save(String key, String value) {
    return sender.send(new ProducerRecord<>(topic, key, value.getBytes(StandardCharsets.UTF_8))).map(md -> {
      values.put(key, value);
      return null;
    });
  }

  @Override
  public void close() {
    follower.close();
  }
}
