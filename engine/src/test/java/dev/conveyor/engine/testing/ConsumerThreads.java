package dev.conveyor.engine.testing;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The worker threads of vertx-kafka-client's consumers ({@code vert.x-kafka-consumer-thread-N}).
 * A consumer's own worker ends with its close; one that a consumer operation after {@code close()}
 * started (KafkaReadStreamImpl.submitTask restarts a closed stream) waits in its executor's queue
 * for good. A live consumer's worker polls, and passes through that wait at most.
 */
public final class ConsumerThreads {
  private ConsumerThreads() {}

  /** The names of the consumer workers started since {@code before} that wait for work now. */
  public static List<String> waitingForWork(Set<Thread> before) {
    return Thread.getAllStackTraces().entrySet().stream()
        .filter(e -> !before.contains(e.getKey()) && e.getKey().getName().startsWith("vert.x-kafka-consumer-thread-"))
        .filter(e -> Arrays.stream(e.getValue()).anyMatch(f -> f.getMethodName().equals("getTask")))
        .map(e -> e.getKey().getName()).toList();
  }
}
