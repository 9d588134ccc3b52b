package dev.conveyor.engine.functions;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConfigLoader;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class FunctionRegistryTest {
  @Test
  void aFunctionIsFoundByItsNamespaceAndNameAndOtherwiseAskedOfDiscovery() {
    var config = ConfigLoader.parse("""
        tenants:
          - name: acme
            namespaces: [acme, shop]
            apiKeys: [{ sha256: %s, roles: [invoke] }]
        functions:
          - { namespace: acme, name: resize, url: "http://resize.acme/" }
          - { namespace: shop, name: resize, url: "http://resize.shop/" }
          - { namespace: shop, name: pay, url: "http://pay.shop/" }
        """.formatted("a".repeat(64)), Map.of());
    List<String> asked = new CopyOnWriteArrayList<>();
    FunctionTarget found = new FunctionTarget("acme", "thumb", java.net.URI.create("http://thumb.acme/"), 128, 0,
        config.functions().get(0).delivery(), config.functions().get(0).circuitBreaker(), null, null);
    FunctionRegistry r = new FunctionRegistry(config.functions(), (ns, fn) -> {
      asked.add(ns + " " + fn);
      return fn.equals("thumb") ? Optional.of(found) : Optional.empty();
    });
    assertThat(r.find("acme", "resize").orElseThrow().url()).hasToString("http://resize.acme/");
    assertThat(r.find(new String("shop"), new String("resize")).orElseThrow().url()).hasToString("http://resize.shop/");
    assertThat(r.find("shop", "pay").orElseThrow().url()).hasToString("http://pay.shop/");
    assertThat(asked).as("a configured function is not asked of discovery").isEmpty();
    assertThat(r.find("acme", "pay")).isEmpty();
    assertThat(r.find("other", "resize")).isEmpty();
    assertThat(r.find("acme", "thumb")).containsSame(found);
    assertThat(asked).containsExactly("acme pay", "other resize", "acme thumb");
  }
}
