package dev.conveyor.connector.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.conveyor.config.ConfigException;
import dev.conveyor.connector.spi.ConnectorContext.Submission;
import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.spi.TriggerConnector;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every trigger connector passes: extend it in the connector's tests, say how to
 * configure it and how to make its source produce events, and these run against a
 * {@link RecordingContext}. It checks what the gateway relies on: the factory is found by
 * {@link ServiceLoader} and its config, bound as the gateway binds it, refuses bad entries naming the key; every event reaches its target once,
 * with the connector's trigger and a dedupe key of its own; what could not be stored is tried again
 * (nothing lost); what is refused for good is skipped without stopping the rest; nothing is
 * submitted after {@code stop()}.
 */
public abstract class ConnectorContract {
  protected Vertx vertx;
  protected RecordingContext context;
  private TriggerConnector connector;

  /** The factory under test (the contract also checks ServiceLoader finds one of its type). */
  protected abstract ConnectorFactory<?> factory();

  /**
   * A valid entry whose target is {@code acme/echo}, as under {@code connectors:} in the gateway's config
   * ({@link ConnectorConfigs} binds it as the gateway does); called once per test (use fresh source names).
   */
  protected abstract JsonObject config();

  /** Makes the source produce {@code n} new events (a schedule that ticks by itself does nothing). */
  protected abstract void emit(int n) throws Exception;

  /** The {@code trigger} its submissions carry. */
  protected abstract String trigger();

  /** The gateway's Kafka for {@code bootstrapServers: ""}; null when the connector needs none. */
  protected String kafkaBootstrapServers() {
    return null;
  }

  /** How long the source may take to deliver a few events. */
  protected Duration patience() {
    return Duration.ofSeconds(30);
  }

  @BeforeEach
  void startVertx() {
    vertx = Vertx.vertx();
    context = new RecordingContext(vertx, kafkaBootstrapServers());
  }

  @AfterEach
  void stopAll() throws Exception {
    if (connector != null) connector.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private TriggerConnector start(JsonObject config) throws Exception {
    connector = ConnectorConfigs.create(factory(), "contract", config);
    connector.start(context).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    return connector;
  }

  @Test
  void theFactoryIsFoundByServiceLoaderUnderItsType() {
    Set<String> types = new HashSet<>();
    for (ConnectorFactory<?> f : ServiceLoader.load(ConnectorFactory.class)) types.add(f.type());
    assertThat(types).contains(factory().type());
  }

  @Test
  void badConfigIsRefusedNamingTheKey() {
    assertThatThrownBy(() -> ConnectorConfigs.create(factory(), "contract", config().put("noSuchKey", 1)))
        .isInstanceOf(ConfigException.class).hasMessage("noSuchKey: unknown key");
    JsonObject noTarget = config();
    noTarget.remove("target");
    assertThatThrownBy(() -> ConnectorConfigs.create(factory(), "contract", noTarget))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("target: is required");
    JsonObject noFunction = config();
    noFunction.getJsonObject("target").remove("function");
    assertThatThrownBy(() -> ConnectorConfigs.create(factory(), "contract", noFunction))
        .isInstanceOf(ConfigException.class).hasMessage("target.function: is required");
  }

  @Test
  void everyEventReachesItsTargetOnceWithTheTriggerAndADedupeKey() throws Exception {
    start(config());
    emit(3);
    await().atMost(patience()).until(() -> context.stored().size() >= 3);
    List<Submission> stored = context.stored();
    assertThat(stored).allSatisfy(s -> {
      assertThat(s.namespace()).isEqualTo("acme");
      assertThat(s.function()).isEqualTo("echo");
      assertThat(s.trigger()).isEqualTo(trigger());
      assertThat(s.dedupeKey()).isNotBlank().hasSizeLessThanOrEqualTo(250);
    });
    // No event was submitted twice under different keys, and the metric counted what was read.
    assertThat(stored.stream().map(Submission::dedupeKey).distinct().count()).isEqualTo(stored.size());
    assertThat(context.received()).isGreaterThanOrEqualTo(3);
  }

  @Test
  void whatCouldNotBeStoredIsTriedAgainAndNothingIsLost() throws Exception {
    context.failNext(2);
    start(config());
    emit(3);
    await().atMost(patience()).until(() -> context.stored().size() >= 3);
    Set<String> failedKeys = new HashSet<>();
    List<Submission> attempts = context.attempts();
    for (int i = 0; i < 2; i++) failedKeys.add(attempts.get(i).dedupeKey());
    Set<String> storedKeys = new HashSet<>();
    context.stored().forEach(s -> storedKeys.add(s.dedupeKey()));
    assertThat(storedKeys).containsAll(failedKeys);
  }

  @Test
  void whatIsRefusedForGoodIsSkippedAndTheRestGoesOn() throws Exception {
    Set<String> refused = java.util.concurrent.ConcurrentHashMap.newKeySet();
    context.rejectWhen(s -> refused.isEmpty() && refused.add(s.dedupeKey()));
    start(config());
    emit(3);
    await().atMost(patience()).until(() -> context.stored().size() >= 2);
    assertThat(refused).hasSize(1);
    assertThat(context.stored()).noneMatch(s -> refused.contains(s.dedupeKey()));
  }

  @Test
  void nothingIsSubmittedAfterStop() throws Exception {
    TriggerConnector c = start(config());
    emit(1);
    await().atMost(patience()).until(() -> context.stored().size() >= 1);
    c.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    connector = null;
    int after = context.attempts().size();
    emit(2);
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> context.attempts().size() == after);
  }
}
