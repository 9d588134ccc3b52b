package dev.conveyor.engine.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConveyorConfig.ApiKey;
import dev.conveyor.engine.config.ConveyorConfig.Limits;
import dev.conveyor.engine.config.ConveyorConfig.Role;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ApiKeyAuthenticatorTest {
  private final ApiKeyAuthenticator auth = new ApiKeyAuthenticator(List.of(new Tenant("acme", List.of("acme"),
      List.of(new ApiKey(ApiKeyAuthenticator.sha256Hex("s3cret"), Set.of(Role.invoke))), new Limits(1, 1, 1, 1, 1), new dev.conveyor.engine.config.ConveyorConfig.Callbacks(List.of(), null))));

  @Test
  void shouldKnowAConfiguredKeyByItsHash() {
    Principal p = auth.authenticate("s3cret").orElseThrow();
    assertThat(p.tenant().name()).isEqualTo("acme");
    assertThat(p.has(Role.invoke)).isTrue();
    assertThat(p.has(Role.admin)).isFalse();
  }

  @Test
  void shouldRefuseUnknownEmptyAndOverlongKeys() {
    assertThat(auth.authenticate("s3cret ")).isEmpty();
    assertThat(auth.authenticate("")).isEmpty();
    assertThat(auth.authenticate(null)).isEmpty();
    assertThat(auth.authenticate("x".repeat(10_000))).isEmpty();
  }
}
