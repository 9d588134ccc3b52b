package dev.conveyor.engine.auth;

import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import java.util.Set;

/** Who is calling: the tenant and the roles its credential carries. */
public record Principal(Tenant tenant, Set<Role> roles) {
  public boolean has(Role r) {
    return roles.contains(r);
  }

  public boolean owns(String namespace) {
    return tenant.namespaces().contains(namespace);
  }
}
