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
  /** {@code lanes}: computed on first use, by partition count and tenant. */
  private record State(Map<String, Tenant> byName, Map<String, Tenant> byNamespace, ApiKeyAuthenticator keys,
      Map<Integer, Map<String, Lanes>> lanes, Map<String, List<dev.conveyor.engine.config.ConveyorConfig.Budget>> budgets) {}

  private volatile State state;

  public Tenants(List<Tenant> tenants) {
    replace(tenants);
  }

  public void replace(List<Tenant> tenants) {
    Map<String, Tenant> byNamespace = new java.util.HashMap<>();
    for (Tenant t : tenants) for (String ns : t.namespaces()) byNamespace.putIfAbsent(ns, t);
    state = new State(tenants.stream().collect(Collectors.toUnmodifiableMap(Tenant::name, Function.identity())),
        Map.copyOf(byNamespace), new ApiKeyAuthenticator(tenants), new java.util.concurrent.ConcurrentHashMap<>(),
        tenants.stream().filter(t -> !t.limits().budgets().isEmpty())
            .collect(Collectors.toUnmodifiableMap(Tenant::name, t -> List.copyOf(t.limits().budgets()))));
  }

  /** The budgets of the tenants that have any, as configured now (a reload replaces the map). */
  public Map<String, List<dev.conveyor.engine.config.ConveyorConfig.Budget>> budgets() {
    return state.budgets();
  }

  /**
   * The tenant's lanes over a queue of {@code partitions} partitions ({@link Lanes}): placed from its
   * {@code partition} or its name, never from its position in the list, so reordering the list moves
   * nothing. Changing a tenant's {@code partition} or {@code lanes} sends its new invocations to the
   * new lanes while the queued ones finish where they are. A tenant no longer configured (its queued
   * work still runs) has one lane of one slot.
   */
  public Lanes lanes(String tenant, int partitions) {
    State s = state;
    var byTenant = s.lanes().get(partitions);
    Lanes known = byTenant == null ? null : byTenant.get(tenant); // every accept asks: no lambdas to build when known
    if (known != null) return known;
    return s.lanes().computeIfAbsent(partitions, n -> new java.util.concurrent.ConcurrentHashMap<>()).computeIfAbsent(tenant, name -> {
      Tenant t = s.byName().get(name);
      int first = t != null && t.partition() != null ? Math.floorMod(t.partition(), partitions) : Lanes.hashed(name, partitions);
      return t == null ? Lanes.of(first, 1, 1, partitions) : Lanes.of(first, t.limits().lanes(), t.limits().maxConcurrency(),
          t.limits().maxMemoryInFlightMiB(), partitions);
    });
  }

  /**
   * The queue partitions holding lanes of more than one tenant, with those tenants (in name order):
   * they share the partition's {@code dispatch.maxWaiting}, so one flooding past it holds up the
   * others' records there. Empty when every tenant's lanes are its own.
   */
  public java.util.SortedMap<Integer, java.util.List<String>> sharedPartitions(int partitions) {
    java.util.SortedMap<Integer, java.util.List<String>> byPartition = new java.util.TreeMap<>();
    for (String name : new java.util.TreeSet<>(names())) {
      for (int p : lanes(name, partitions).partitions()) byPartition.computeIfAbsent(p, k -> new java.util.ArrayList<>()).add(name);
    }
    byPartition.values().removeIf(l -> l.size() < 2);
    return byPartition;
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
