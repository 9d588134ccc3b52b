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

  /**
   * By namespace, then name: a lookup hashes the two strings an invocation carries (each string keeps
   * its hash once computed) instead of building and hashing their concatenation on every call, which
   * a delivery makes several times. Each target is kept as the {@code Optional} a lookup returns.
   */
  private final Map<String, Map<String, Optional<FunctionTarget>>> targets = new HashMap<>();
  private final Source discovered;

  public FunctionRegistry(List<FunctionSpec> specs) {
    this(specs, (ns, fn) -> Optional.empty());
  }

  public FunctionRegistry(List<FunctionSpec> specs, Source discovered) {
    this.discovered = discovered;
    for (FunctionSpec f : specs) {
      targets.computeIfAbsent(f.namespace(), ns -> new HashMap<>()).put(f.name(),
          Optional.of(new FunctionTarget(f.namespace(), f.name(), f.url(), f.memoryMiB(), f.concurrency(), f.delivery(),
              f.circuitBreaker(), null, null)));
    }
  }

  public Optional<FunctionTarget> find(String namespace, String function) {
    Map<String, Optional<FunctionTarget>> names = targets.get(namespace);
    Optional<FunctionTarget> t = names == null ? null : names.get(function);
    return t != null ? t : discovered.find(namespace, function);
  }
}
