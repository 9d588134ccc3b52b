package dev.conveyor.engine.functions;

import dev.conveyor.engine.config.ConveyorConfig.FunctionSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves {@code namespace/function} to a target. For now the static targets of the config;
 * Knative discovery will add and override entries behind the same lookup.
 */
public final class FunctionRegistry {
  private final Map<String, FunctionTarget> targets = new HashMap<>();

  public FunctionRegistry(List<FunctionSpec> specs) {
    for (FunctionSpec f : specs) {
      targets.put(key(f.namespace(), f.name()),
          new FunctionTarget(f.namespace(), f.name(), f.url(), f.memoryMiB(), f.concurrency(), f.delivery(),
              f.circuitBreaker(), null));
    }
  }

  private static String key(String ns, String fn) {
    return ns + '/' + fn;
  }

  public Optional<FunctionTarget> find(String namespace, String function) {
    return Optional.ofNullable(targets.get(key(namespace, function)));
  }
}
