package dev.conveyor.engine.functions;

import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import java.net.URI;

/**
 * Where a function runs and how it is delivered to; resolved once per request or attempt.
 * {@code revision} and {@code readyReplicas} come from Knative discovery (null for static targets:
 * unknown). {@code revision} names the revision that carries the traffic (for a split, the one billed:
 * the largest); {@code readyReplicas == 0} means every revision with traffic is scaled to zero, so a
 * call now is a cold start that the Activator holds; null also means the autoscaler has not reported
 * yet (a brand-new revision), which is not zero.
 */
public record FunctionTarget(String namespace, String name, URI url, int memoryMiB, int concurrency, Delivery delivery,
    BreakerSpec breaker, String revision, Integer readyReplicas, Serving serving) {

  public FunctionTarget(String namespace, String name, URI url, int memoryMiB, int concurrency, Delivery delivery,
      BreakerSpec breaker, String revision, Integer readyReplicas) {
    this(namespace, name, url, memoryMiB, concurrency, delivery, breaker, revision, readyReplicas, Serving.NONE);
  }

  public boolean scaledToZero() {
    return readyReplicas != null && readyReplicas == 0;
  }

  /** The function's name as the dispatcher keys it: {@code namespace/name} (a tag included: {@code fn@tag}). */
  public String key() {
    return namespace + '/' + name;
  }
}
