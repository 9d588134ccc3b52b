package dev.conveyor.engine.knative;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.config.ConfigLoader;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KnativeDiscoveryTest {

  @Test
  void annotationsInKebabCaseSetTheDeliveryPolicy() {
    var p = KnativeDiscovery.parse("acme/resize", "7", Map.of(
        "conveyor.dev/retry", "4", "conveyor.dev/backoff-delay", "PT2S", "conveyor.dev/max-event-age", "PT1H",
        "conveyor.dev/timeout", "PT45S", "conveyor.dev/concurrency", "8", "conveyor.dev/retry-on-status", "[503, 504]",
        "serving.knative.dev/creator", "someone"));
    assertThat(p.delivery().retry()).isEqualTo(4);
    assertThat(p.delivery().backoffDelay()).isEqualTo(Duration.ofSeconds(2));
    assertThat(p.delivery().maxEventAge()).isEqualTo(Duration.ofHours(1));
    assertThat(p.delivery().timeout()).isEqualTo(Duration.ofSeconds(45));
    assertThat(p.delivery().retryOnStatus()).containsExactlyInAnyOrder(503, 504);
    assertThat(p.concurrency()).isEqualTo(8);
  }

  @Test
  void invalidOrUnknownAnnotationsFallBackToTheDefaultPolicy() {
    for (Map<String, String> bad : List.of(Map.of("conveyor.dev/retry", "lots"), Map.of("conveyor.dev/retries", "3"),
        Map.of("conveyor.dev/concurrency", "0"), Map.of("conveyor.dev/timeout", "[unclosed"))) {
      var p = KnativeDiscovery.parse("acme/resize", "1", bad);
      assertThat(p.delivery()).as(bad.toString()).isEqualTo(ConfigLoader.defaultDelivery());
      assertThat(p.concurrency()).isEqualTo(100);
    }
  }

  @Test
  void memoryComesFromTheContainersLimit() {
    KnativeRevision rev = new KnativeRevision();
    rev.setSpec(new KnativeRevision.Spec());
    rev.getSpec().containers = List.of(new ContainerBuilder().withName("c").withNewResources()
        .addToLimits("memory", new Quantity("1Gi")).endResources().build());
    assertThat(KnativeDiscovery.memoryMiB(rev)).isEqualTo(1024);
    rev.getSpec().containers = List.of(new ContainerBuilder().withName("c").withNewResources()
        .addToLimits("memory", new Quantity("300M")).endResources().build());
    assertThat(KnativeDiscovery.memoryMiB(rev)).isEqualTo(286);
    rev.getSpec().containers = List.of(new ContainerBuilder().withName("c").build());
    assertThat(KnativeDiscovery.memoryMiB(rev)).as("no limit").isEqualTo(128);
    assertThat(KnativeDiscovery.memoryMiB(null)).isEqualTo(128);
  }
}
