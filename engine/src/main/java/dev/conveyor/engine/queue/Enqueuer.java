package dev.conveyor.engine.queue;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;

/**
 * Stores an accepted invocation on the queue topic with acks=all; the future completes only when
 * it is stored, and only then may the caller answer 202. One record per accept: the invocation
 * record is also what makes it {@code queued} on every replica (the status reader reads its
 * headers), so no separate status record is written until the dispatcher starts it.
 */
public final class Enqueuer {
  private final KafkaSender sender;
  private final StatusStore status;
  private final String topic;

  public Enqueuer(KafkaSender sender, StatusStore status, String topic) {
    this.sender = sender;
    this.status = status;
    this.topic = topic;
  }

  public Future<InvocationStatus> enqueue(Invocation inv) {
    return sender.send(InvocationCodec.encode(topic, inv)).map(md -> {
      InvocationStatus queued = InvocationStatus.queued(inv);
      status.apply(queued, null); // this replica reads its own 202 at once
      return queued;
    });
  }
}
