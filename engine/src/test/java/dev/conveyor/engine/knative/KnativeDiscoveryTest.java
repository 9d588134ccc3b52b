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

  // Objects shaped as knative/serving's controllers write them (src/test/resources/knative/).
  private static <T> T fixture(String file, Class<T> type) {
    try (var in = KnativeDiscoveryTest.class.getResourceAsStream("/knative/" + file)) {
      return io.fabric8.kubernetes.client.utils.Serialization.unmarshal(in, type);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static final Map<String, KnativeRevision> REVISIONS = Map.of(
      "resize-00001", fixture("revision-warm-2gi.yaml", KnativeRevision.class),
      "resize-00002", fixture("revision-new-sidecar-first.yaml", KnativeRevision.class),
      "resize-00003", fixture("revision-zero-128mi.yaml", KnativeRevision.class));

  private static dev.conveyor.engine.functions.FunctionTarget resolve(String function, KnativeService svc) {
    return KnativeDiscovery.resolve("acme", function, svc, REVISIONS::get, ConfigLoader.defaultDelivery(), 100).orElseThrow();
  }

  @Test
  void callsAreAttributedToTheRevisionThatCarriesTheTrafficNotTheLatestReadyOne() {
    var t = resolve("resize", fixture("service-pinned-with-tag.yaml", KnativeService.class));
    assertThat(t.revision()).as("100% pinned to the older revision").isEqualTo("resize-00001");
    assertThat(t.memoryMiB()).isEqualTo(2048);
    assertThat(t.readyReplicas()).isEqualTo(3);
    assertThat(t.scaledToZero()).isFalse();
    assertThat(t.url()).hasToString("https://resize.acme.svc.cluster.local");
    assertThat(t.serving().caCerts()).contains("BEGIN CERTIFICATE");
    assertThat(t.serving().timeoutMs()).isEqualTo(300_000);
    assertThat(t.serving().split()).isEmpty();
  }

  @Test
  void aTaggedRouteIsItsOwnTargetWithItsOwnRevision() {
    var t = resolve("resize@canary", fixture("service-pinned-with-tag.yaml", KnativeService.class));
    assertThat(t.revision()).isEqualTo("resize-00003");
    assertThat(t.memoryMiB()).isEqualTo(128);
    assertThat(t.url()).hasToString("https://canary-resize.acme.example.com");
    assertThat(t.scaledToZero()).as("the tagged revision is at zero").isTrue();
    assertThat(KnativeDiscovery.resolve("acme", "resize@nope", fixture("service-pinned-with-tag.yaml", KnativeService.class),
        REVISIONS::get, ConfigLoader.defaultDelivery(), 100)).as("unknown tag").isEmpty();
  }

  @Test
  void aSplitBillsTheLargestRevisionNamesTheSplitAndBoundsCapacityByTheLimitedRevisionsShare() {
    var t = resolve("resize", fixture("service-split.yaml", KnativeService.class));
    assertThat(t.revision()).isEqualTo("resize-00001");
    assertThat(t.memoryMiB()).isEqualTo(2048);
    assertThat(t.serving().split()).containsExactly("resize-00001=90", "resize-00002=10");
    // resize-00002 takes 10% of the calls with containerConcurrency 4 on (at least) one pod.
    assertThat(t.serving().podCapacity()).isEqualTo(40);
    assertThat(t.serving().containerConcurrency()).isEqualTo(4);
    assertThat(t.serving().timeoutMs()).as("the longest of the split").isEqualTo(300_000);
  }

  @Test
  void aBrandNewRevisionWithoutActualReplicasIsNotCold() {
    KnativeService svc = fixture("service-split.yaml", KnativeService.class);
    svc.getStatus().traffic = null; // the Route has not reported yet: the latest ready revision serves
    var t = resolve("resize", svc);
    assertThat(t.revision()).isEqualTo("resize-00002");
    assertThat(t.readyReplicas()).as("not reported").isNull();
    assertThat(t.scaledToZero()).isFalse();
    assertThat(t.serving().timeoutMs()).isEqualTo(120_000);
    assertThat(t.serving().podCapacity()).as("containerConcurrency 4 on the one pod that will come").isEqualTo(4);
  }

  @Test
  void theServingContainerIsTheOneWithAPortWhateverItsPlace() {
    assertThat(KnativeDiscovery.memoryMiB(REVISIONS.get("resize-00002"))).as("the sidecar's 64Mi comes first").isEqualTo(1024);
    assertThat(KnativeDiscovery.memoryMiB(REVISIONS.get("resize-00001"))).isEqualTo(2048);
  }

  @Test
  void aServiceWhoseRouteCarriesNoTrafficIsNoTarget() {
    KnativeService svc = fixture("service-split.yaml", KnativeService.class);
    svc.getStatus().traffic.forEach(x -> x.percent = 0L);
    svc.getStatus().latestReadyRevisionName = null;
    assertThat(KnativeDiscovery.resolve("acme", "resize", svc, REVISIONS::get, ConfigLoader.defaultDelivery(), 100)).isEmpty();
  }

  @Test
  void aRevisionListedTwiceInTheTrafficIsOneRevisionWithBothShares() {
    KnativeService svc = fixture("service-split.yaml", KnativeService.class);
    // {tag: current, revisionName: resize-00002, percent: 50} and {latestRevision: true, percent: 50}, 00002 the latest
    svc.getStatus().traffic.get(0).revisionName = "resize-00002";
    svc.getStatus().traffic.get(0).percent = 50L;
    svc.getStatus().traffic.get(0).tag = "current";
    svc.getStatus().traffic.get(1).revisionName = null;
    svc.getStatus().traffic.get(1).percent = 50L;
    var t = resolve("resize", svc);
    assertThat(t.revision()).isEqualTo("resize-00002");
    assertThat(t.serving().split()).as("one revision: no split").isEmpty();
    assertThat(t.serving().podCapacity()).as("containerConcurrency 4 on one pod, all the traffic").isEqualTo(4);
  }
}
