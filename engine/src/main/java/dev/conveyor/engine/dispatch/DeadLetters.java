package dev.conveyor.engine.dispatch;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.kafka.RecordSink;
import dev.conveyor.engine.queue.InvocationCodec;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes an invocation that will not be retried to the dead-letter topic: the original payload and
 * headers, plus the attempts and the last error (Knative's knativeerror* headers).
 */
public final class DeadLetters {
  private final RecordSink sender;

  public DeadLetters(RecordSink sender) {
    this.sender = sender;
  }

  public Future<Void> write(String topic, Invocation inv, int attempts, Integer httpStatus, String lastError) {
    ProducerRecord<String, byte[]> r = InvocationCodec.readable(topic, inv);
    r.headers().add("conveyor-attempts", Integer.toString(attempts).getBytes(StandardCharsets.UTF_8));
    if (httpStatus != null) {
      r.headers().add("knativeerrorcode", Integer.toString(httpStatus).getBytes(StandardCharsets.UTF_8));
    }
    if (lastError != null) {
      r.headers().add("knativeerrordata", lastError.getBytes(StandardCharsets.UTF_8));
    }
    return sender.send(r).mapEmpty();
  }
}
