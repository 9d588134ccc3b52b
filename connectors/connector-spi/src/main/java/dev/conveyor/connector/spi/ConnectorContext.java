package dev.conveyor.connector.spi;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;

/** What the gateway gives a connector: its Vert.x instance and the one way in, {@link #submit}. */
public interface ConnectorContext {
  Vertx vertx();

  /**
   * Queues an invocation through the same durable path as the HTTP API. The future completes with
   * the invocation id once the invocation is stored (acks=all); only then may a connector move its
   * source on (commit an offset, answer 202).
   * {@code dedupeKey} makes replays of the same event idempotent (e.g. topic/partition/offset): a
   * second submission with the same key answers the first invocation's id and queues nothing. It
   * fails with {@link Rejected} when the gateway will never take it, with another exception when it
   * could not be stored now (retry).
   */
  Future<String> submit(Submission submission);

  /** The gateway's own Kafka, for connectors configured with {@code bootstrapServers: ""}. */
  String kafkaBootstrapServers();

  /** A submission the gateway will never take (unknown function, payload too large): not worth retrying. */
  final class Rejected extends RuntimeException {
    public Rejected(String reason) {
      super(reason, null, false, false);
    }
  }

  /** One event turned into an invocation. {@code trigger} is {@code kafka}, {@code cron} or {@code cloudevent}. */
  record Submission(String namespace, String function, String contentType, byte[] payload,
      Map<String, String> headers, String dedupeKey, String trigger) {}
}
