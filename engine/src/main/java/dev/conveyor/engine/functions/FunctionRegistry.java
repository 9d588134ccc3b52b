package dev.conveyor.engine.functions;

import dev.conveyor.engine.config.ConveyorConfig.FunctionSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves {@code namespace/function} to a target: the static targets of the config first, then
 * what Knative discovery knows (when it is on). Both are in-memory lookups; nothing here calls out.
 */
public final class FunctionRegistry {
  /** Another source of targets (Knative discovery). */
  public interface Source {
    Optional<FunctionTarget> find(String namespace, String function);
  }

  private final Map<String, FunctionTarget> targets = new HashMap<>();
  private final Source discovered;

  public FunctionRegistry(List<FunctionSpec> specs) {
    this(specs, (ns, fn) -> Optional.empty());
  }

  public FunctionRegistry(List<FunctionSpec> specs, Source discovered) {
    this.discovered = discovered;
    for (FunctionSpec f : specs) {
      targets.put(key(f.namespace(), f.name()),
          new FunctionTarget(f.namespace(), f.name(), f.url(), f.memoryMiB(), f.concurrency(), f.delivery(),
              f.circuitBreaker(), null, null));
    }
  }

  private static String key(String ns, String fn) {
    return ns + '/' + fn;
  }

  public Optional<FunctionTarget> find(String namespace, String function) {
    FunctionTarget t = targets.get(key(namespace, function));
    return t != null ? Optional.of(t) : discovered.find(namespace, function);
  }
}
