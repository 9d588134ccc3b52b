package dev.conveyor.engine.functions;

import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import java.net.URI;

/**
 * Where a function runs and how it is delivered to; resolved once per request or attempt.
 * {@code revision} and {@code readyReplicas} come from Knative discovery (null for static targets:
 * unknown); {@code readyReplicas == 0} means the revision is scaled to zero, so a call now is a cold
 * start and the Activator's 503/404 is the platform's delay.
 */
public record FunctionTarget(String namespace, String name, URI url, int memoryMiB, int concurrency, Delivery delivery,
    BreakerSpec breaker, String revision, Integer readyReplicas) {

  public boolean scaledToZero() {
    return readyReplicas != null && readyReplicas == 0;
  }
}
