package dev.conveyor.engine.tenancy;

import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.auth.Principal;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The tenants as currently configured, and their API keys. Replaced as a whole when the config
 * file changes ({@link ConfigWatcher}): a request sees either the old set or the new one, never a
 * mix; a revoked key stops working with the next request.
 */
public final class Tenants {
  private record State(Map<String, Tenant> byName, Map<String, Tenant> byNamespace, Map<String, Integer> position,
      ApiKeyAuthenticator keys) {}

  private volatile State state;

  public Tenants(List<Tenant> tenants) {
    replace(tenants);
  }

  public void replace(List<Tenant> tenants) {
    Map<String, Tenant> byNamespace = new java.util.HashMap<>();
    for (Tenant t : tenants) for (String ns : t.namespaces()) byNamespace.putIfAbsent(ns, t);
    Map<String, Integer> position = new java.util.HashMap<>();
    for (int i = 0; i < tenants.size(); i++) position.put(tenants.get(i).name(), i);
    state = new State(tenants.stream().collect(Collectors.toUnmodifiableMap(Tenant::name, Function.identity())),
        Map.copyOf(byNamespace), Map.copyOf(position), new ApiKeyAuthenticator(tenants));
  }

  /**
   * The queue partition of all of a tenant's invocations, so that one replica (the partition's
   * owner in the dispatcher's consumer group) runs them all and enforces its limits: the tenant's
   * {@code partition} if set, else its position in the tenants list; modulo {@code partitions}.
   * With no more tenants than partitions, no two tenants share one. Moving a tenant (reordering the
   * list, or a new {@code partition}) sends its new invocations elsewhere while its old ones finish
   * where they are, so for that while two replicas run its invocations.
   */
  public int partition(String tenant, int partitions) {
    State s = state;
    Tenant t = s.byName().get(tenant);
    int p = t != null && t.partition() != null ? t.partition() : s.position().getOrDefault(tenant, Math.abs(tenant.hashCode()));
    return Math.floorMod(p, partitions);
  }

  public java.util.Set<String> names() {
    return state.byName().keySet();
  }

  public Optional<Tenant> tenant(String name) {
    return Optional.ofNullable(state.byName().get(name));
  }

  /** The tenant that owns {@code namespace} (namespaces belong to one tenant each). */
  public Optional<Tenant> owner(String namespace) {
    return Optional.ofNullable(state.byNamespace().get(namespace));
  }

  public Optional<Principal> authenticate(String apiKey) {
    return state.keys().authenticate(apiKey);
  }
}
