package dev.conveyor.engine.queue;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.config.ConveyorConfig.QueueHeaders;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;

/**
 * Stores an accepted invocation on the queue topic with acks=all; the future completes only when
 * it is stored, and only then may the caller answer 202. One record per accept: its partition
 * follows from the id and its timestamp is the accept time, so any replica can find it while it
 * is queued ({@link dev.conveyor.engine.queue.QueueLookup}). With an {@code Idempotency-Key} the
 * {@code queued} status is stored too, after the invocation, so every replica learns the key.
 */
public final class Enqueuer {
  private final KafkaSender sender;
  private final StatusStore status;
  private final String topic;
  private final int partitions;
  private final QueueHeaders headers;

  /** {@code headers}: the records' form ({@code kafka.queueHeaders}). */
  public Enqueuer(KafkaSender sender, StatusStore status, String topic, int partitions, QueueHeaders headers) {
    this.sender = sender;
    this.status = status;
    this.topic = topic;
    this.partitions = partitions;
    this.headers = headers;
  }

  public String topic() {
    return topic;
  }

  /**
   * For events a source will replay until they are stored (a connector's uncommitted offset): the
   * key's {@code queued} status is stored first, then the invocation. A crash between the two
   * leaves a key whose invocation a replay stores again under the same id ({@link #store}), so no
   * event is ever queued under two ids.
   */
  public Future<InvocationStatus> reserveThenEnqueue(Invocation inv) {
    InvocationStatus queued = InvocationStatus.queued(inv);
    return status.write(queued, null)
        .compose(md -> sender.send(InvocationCodec.encode(topic, InvocationIds.partition(inv.id(), partitions), inv, headers)))
        .map(md -> {
          status.apply(queued, null);
          return queued;
        });
  }

  /** Only the invocation record (its status is stored already): a replay completing a reservation. */
  public Future<Void> store(Invocation inv) {
    return sender.send(InvocationCodec.encode(topic, InvocationIds.partition(inv.id(), partitions), inv, headers)).mapEmpty();
  }

  public Future<InvocationStatus> enqueue(Invocation inv) {
    InvocationStatus queued = InvocationStatus.queued(inv);
    Future<?> stored = sender.send(InvocationCodec.encode(topic, InvocationIds.partition(inv.id(), partitions), inv, headers));
    if (inv.idempotencyKey() != null) {
      // Only after the invocation is stored: a key must never name an invocation that is not. Should
      // this write fail, the invocation is stored all the same (the answer is 202): other replicas
      // learn the key from the dispatcher's statuses, and a retry meanwhile derives the same id.
      stored = stored.compose(md -> status.writeAccepted(queued).otherwiseEmpty());
    }
    return stored.map(x -> {
      // This replica reads its own 202 at once; a key is remembered with its status.
      if (inv.idempotencyKey() != null) status.apply(queued, null);
      else status.acceptedHere(queued);
      return queued;
    });
  }
}
