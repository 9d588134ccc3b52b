package dev.conveyor.connector.spi;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import java.util.Map;

/**
 * What the gateway gives a connector: its Vert.x instance, the one way in ({@link #submit}), the
 * outcome of what it submitted, a little durable state, leader election across replicas and its
 * metrics. Every future completes on the caller's Vert.x context.
 */
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

  /**
   * Completes with the terminal status ({@code succeeded}, {@code failed}, {@code expired} or
   * {@code cancelled}) of an invocation {@link #submit} answered, once it has one, whichever
   * replica ran it.
   */
  Future<String> outcome(String invocationId);

  /**
   * The value any replica last saved under {@code key} with {@link #saveState} (null if none):
   * durable, shared connector state on a compacted topic, as Kafka Connect keeps its offsets.
   */
  Future<String> loadState(String key);

  /** Stores {@code value} under {@code key} durably (acks=all) before the future completes. */
  Future<Void> saveState(String key, String value);

  /**
   * Leader election among the gateway's replicas: {@code onChange} gets {@code true} when this
   * replica becomes the one holder of {@code lock}, {@code false} when it stops being it. With
   * leader election configured it is a Kubernetes Lease; without it, this replica leads at once.
   */
  Leadership lead(String lock, Handler<Boolean> onChange);

  /** The connector's own metrics, labelled with its name and type. */
  ConnectorMetrics metrics(String connector, String type);

  /** The gateway's own Kafka, for connectors configured with {@code bootstrapServers: ""}. */
  String kafkaBootstrapServers();

  /** A held or sought lock; {@link #release()} gives it up (a stopping connector must). */
  interface Leadership {
    Future<Void> release();
  }

  /** {@code conveyor_connector_records_total} and the lag gauges. */
  interface ConnectorMetrics {
    /** Records or events read from the source. */
    void received(long count);

    /** Records of {@code partition} not yet queued. */
    void lagRecords(String partition, long records);

    /** How late the connector is behind its source's due time (a schedule's oldest tick not yet fired). */
    void lagSeconds(double seconds);
  }

  /** A submission the gateway will never take (unknown function, payload too large): not worth retrying. */
  final class Rejected extends RuntimeException {
    public Rejected(String reason) {
      super(reason, null, false, false);
    }
  }

  /**
   * One event turned into an invocation. {@code trigger} is {@code kafka}, {@code cron} or
   * {@code cloudevent}. {@code maxAttempts}, when set, caps the attempts of the function's own
   * retry policy (an ordered connector's poison limit); null keeps the policy as it is.
   */
  record Submission(String namespace, String function, String contentType, byte[] payload,
      Map<String, String> headers, String dedupeKey, String trigger, Integer maxAttempts) {
    public Submission(String namespace, String function, String contentType, byte[] payload, Map<String, String> headers,
        String dedupeKey, String trigger) {
      this(namespace, function, contentType, payload, headers, dedupeKey, trigger, null);
    }
  }
}
