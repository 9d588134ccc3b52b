package dev.conveyor.engine.queue;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.kafka.KafkaSender;
import dev.conveyor.engine.status.StatusStore;
import io.vertx.core.Future;

/**
 * Stores an accepted invocation: the invocation itself on the queue topic and its {@code queued}
 * status on the status topic, both with acks=all, sent together so they share produce requests.
 * The future completes only when both are stored; only then may the caller answer 202.
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
    InvocationStatus queued = InvocationStatus.queued(inv);
    Future<?> stored = sender.send(InvocationCodec.encode(topic, inv));
    Future<?> visible = sender.send(status.record(queued, null));
    return Future.all(stored, visible).transform(ar -> {
      if (ar.succeeded()) {
        status.apply(queued, null);
        return Future.succeededFuture(queued);
      }
      if (visible.succeeded()) {
        // The status is stored but the invocation may not be: end it, so nobody waits for it and a
        // copy that did get stored (an ambiguous timeout) is skipped by the dispatcher.
        status.write(queued.end(dev.conveyor.engine.api.InvocationState.failed, queued.acceptedAt(),
            "not accepted: the invocation could not be stored"), null);
      }
      return Future.failedFuture(ar.cause());
    });
  }
}
