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
  private record State(Map<String, Tenant> byName, Map<String, Tenant> byNamespace, ApiKeyAuthenticator keys) {}

  private volatile State state;

  public Tenants(List<Tenant> tenants) {
    replace(tenants);
  }

  public void replace(List<Tenant> tenants) {
    Map<String, Tenant> byNamespace = new java.util.HashMap<>();
    for (Tenant t : tenants) for (String ns : t.namespaces()) byNamespace.putIfAbsent(ns, t);
    state = new State(tenants.stream().collect(Collectors.toUnmodifiableMap(Tenant::name, Function.identity())),
        Map.copyOf(byNamespace), new ApiKeyAuthenticator(tenants));
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
