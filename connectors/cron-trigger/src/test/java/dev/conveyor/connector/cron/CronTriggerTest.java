package dev.conveyor.connector.cron;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.connector.spi.ConnectorContext.Submission;
import dev.conveyor.connector.spi.TriggerConnector;
import dev.conveyor.connector.testkit.ConnectorConfigs;
import dev.conveyor.connector.testkit.RecordingContext;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Leadership and the missed-tick policy, against the in-memory context of the test kit. */
class CronTriggerTest {
  private final Vertx vertx = Vertx.vertx();
  private final RecordingContext context = new RecordingContext(vertx, null);

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private TriggerConnector start(String missed) throws Exception {
    JsonObject c = new JsonObject().put("type", "cron").put("name", "tick").put("schedule", "* * * * * *")
        .put("missedTicks", missed).put("payload", "{\"k\":1}")
        .put("target", new JsonObject().put("namespace", "acme").put("function", "echo"));
    CronTriggerFactory factory = new CronTriggerFactory();
    TriggerConnector t = factory.create("tick", ConnectorConfigs.bind(factory, c), Clock.systemUTC());
    t.start(context).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return t;
  }

  private List<Instant> ticks() {
    return context.stored().stream().map(s -> Instant.parse(s.headers().get("ce-time"))).toList();
  }

  @Test
  void aTickIsACloudEventAndItsLastTickIsSaved() throws Exception {
    TriggerConnector t = start("fireLast");
    await().atMost(Duration.ofSeconds(10)).until(() -> context.stored().size() >= 2);
    Submission s = context.stored().get(0);
    assertThat(s.trigger()).isEqualTo("cron");
    assertThat(s.headers()).containsEntry("ce-type", "dev.conveyor.schedule.tick.v1")
        .containsEntry("ce-source", "//conveyor/schedules/tick").containsEntry("ce-id", "tick:" + s.headers().get("ce-time"));
    assertThat(s.dedupeKey()).isEqualTo("cron:tick:" + s.headers().get("ce-time"));
    assertThat(new String(s.payload())).isEqualTo("{\"k\":1}");
    await().atMost(Duration.ofSeconds(5)).until(() -> context.state().get("cron:tick") != null);
    assertThat(Instant.parse(context.state().get("cron:tick"))).isAfterOrEqualTo(ticks().get(0));
    t.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aFollowerFiresNothingAndANewLeaderFiresEveryMissedTickOnce() throws Exception {
    TriggerConnector t = start("fireAll");
    await().atMost(Duration.ofSeconds(10)).until(() -> context.stored().size() >= 2);
    context.setLeader(false);
    int before = context.attempts().size();
    // While another replica would lead, this one fires nothing (a tick or two of margin for the one in hand).
    await().during(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(4)).until(() -> context.attempts().size() <= before + 1);
    context.setLeader(true);
    await().atMost(Duration.ofSeconds(10)).until(() -> ticks().size() >= before + 5);
    List<Instant> ticks = ticks();
    for (int i = 1; i < ticks.size(); i++) {
      assertThat(Duration.between(ticks.get(i - 1), ticks.get(i))).as("tick %d follows %d", i, i - 1).isEqualTo(Duration.ofSeconds(1));
    }
    t.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void withSkipTheTicksMissedWhileNoOneLedAreNotFired() throws Exception {
    TriggerConnector t = start("skip");
    await().atMost(Duration.ofSeconds(10)).until(() -> context.stored().size() >= 1);
    context.setLeader(false);
    await().atMost(Duration.ofSeconds(3)).until(() -> {
      Instant saved = context.state().get("cron:tick") == null ? null : Instant.parse(context.state().get("cron:tick"));
      return saved != null && Duration.between(saved, Instant.now()).toMillis() > 2500;
    });
    Instant gapStart = Instant.parse(context.state().get("cron:tick"));
    Instant regained = Instant.now();
    context.setLeader(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> ticks().stream().anyMatch(x -> x.isAfter(regained)));
    assertThat(ticks()).noneMatch(x -> x.isAfter(gapStart) && x.isBefore(regained.minusMillis(1000)));
    t.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
