package dev.conveyor.engine.status;

import dev.conveyor.engine.kafka.KafkaClients;
import dev.conveyor.engine.kafka.TopicFollower;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Replays the compacted status topic into the {@link StatusStore} and then follows it, on every
 * replica. Invocations still queued are not here: {@link dev.conveyor.engine.queue.QueueLookup} finds them on demand.
 * {@link #caughtUp()} completes once the replay reached the end offsets seen at start: only then
 * are status reads and idempotency complete after a restart, so the gateway is not ready before.
 */
public final class StatusReader implements AutoCloseable {
  private final TopicFollower follower;

  public StatusReader(KafkaClients clients, StatusStore store, String topic) {
    // Fetch in batches, skip CRC checks (the broker checked them). A fetch waits for 64 KiB or
    // 100 ms: a status, this replica's own too, shows here at most that much later (a lane's new owner
    // waits longer, Dispatcher.STATUS_READ_BACK), and an idle replica pays ten empty fetches a
    // second. Answered at the first record instead, a replica at 1,500 invocations a second
    // fetched a few hundred times a second. (20 ms waits cost an idle replica 50 empty fetches a
    // second: profiled, 8% of an accept-only replica's CPU.)
    this.follower = new TopicFollower(clients.consumer("conveyor-status-reader", null, new ByteArrayDeserializer(),
        clients.waitingFetches(Map.of("check.crcs", "false", "max.poll.records", "5000"), 64 * 1024, 100)), topic,
        "conveyor-status-reader",
        r -> {
          if (r.value() == null) return;
          try {
            var h = r.headers().lastHeader(StatusStore.WRITER);
            String writer = h == null ? null : new String(h.value(), StandardCharsets.US_ASCII);
            StatusCodec.Envelope e = store.read(r.value(), writer);
            if (e.status() != null) store.apply(e.status(), e.result(), store.own(writer), r.value());
          } catch (java.io.IOException ex) {
            throw new IllegalArgumentException("unreadable status record");
          }
        });
  }

  public StatusReader start() {
    follower.start();
    return this;
  }

  public CompletableFuture<Void> caughtUp() {
    return follower.caughtUp();
  }

  /** False once the reader stopped for good: statuses would go stale, so the replica is not ready. */
  public boolean alive() {
    return follower.alive();
  }

  @Override
  public void close() {
    follower.close();
  }
}
