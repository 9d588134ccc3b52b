package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.engine.config.ConveyorConfig.Budget;
import dev.conveyor.engine.config.ConveyorConfig.BudgetPeriod;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Budget threshold events from the rollup topology: each threshold once per budget and period, exactly. */
class BudgetEventsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
  private final AtomicReference<Map<String, List<Budget>>> budgets = new AtomicReference<>(Map.of());
  private final List<String> alerted = new ArrayList<>();
  private java.nio.file.Path state;
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> usage;
  private TestOutputTopic<String, byte[]> events;
  private int n;

  @BeforeEach
  void start() throws Exception {
    state = Files.createTempDirectory("budget-test");
    open(NOW);
  }

  private void open(Instant at) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "budget-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    driver = new TopologyTestDriver(UsageRollupTopology.build("usage", "rollups", 7,
        new UsageRollupTopology.BudgetEvents("budget-events", "//test", budgets::get, (t, period, th) -> alerted.add(t + " " + th))), p, at);
    usage = driver.createInputTopic("usage", Serdes.String().serializer(), Serdes.ByteArray().serializer());
    events = driver.createOutputTopic("budget-events", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  private static Budget gib(String amount, boolean enforce) {
    return new Budget(BudgetPeriod.month, new BigDecimal(amount), null, List.of(0.8), enforce, "UTC");
  }

  /** One attempt's usage record, ended an hour before {@link #NOW}. */
  private void use(String tenant, String gibSeconds) throws Exception {
    n++;
    ObjectNode ce = JSON.createObjectNode().put("specversion", "1.0").put("type", UsageEmitter.TYPE).put("source", "//t")
        .put("id", "i" + n + ":1").put("time", "2026-11-27T11:15:00.000Z");
    ce.putObject("data").put("tenant", tenant).put("namespace", tenant).put("function", "f").put("invocationId", "i" + n)
        .put("attempt", 1).put("outcome", "success").put("billedDurationMs", 1000).put("gibSeconds", gibSeconds)
        .put("coldStart", false).put("requestBytes", 1).put("responseBytes", 1);
    usage.pipeInput(tenant, JSON.writeValueAsBytes(ce));
  }

  private List<JsonNode> raised() throws Exception {
    driver.advanceWallClockTime(Duration.ofSeconds(1));
    List<JsonNode> out = new ArrayList<>();
    for (var r : events.readRecordsToList()) {
      assertThat(r.key()).isEqualTo(r.value() == null ? null : JSON.readTree(r.value()).path("subject").asText());
      assertThat(new String(r.headers().lastHeader("ce_type").value())).isEqualTo(UsageRollupTopology.BUDGET_EVENT);
      out.add(JSON.readTree(r.value()));
    }
    return out;
  }

  @Test
  void aTenantHourIsAddedToWhatItsStoreHoldsNotToWhatThisProcessorLastWrote() throws Exception {
    use("acme", "1");
    // The store's value replaced under the processor (as a restore from the changelog would).
    driver.<String, byte[]>getKeyValueStore(UsageRollupTopology.TENANT_HOURS)
        .put("acme|2026-11-27T11:00:00Z", "5 5".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    use("acme", "1");
    assertThat(new String(driver.<String, byte[]>getKeyValueStore(UsageRollupTopology.TENANT_HOURS).get("acme|2026-11-27T11:00:00Z"),
        java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("6 6");
  }

  @Test
  void eachThresholdIsRaisedOnceWhenCrossed() throws Exception {
    budgets.set(Map.of("acme", List.of(gib("10", true))));
    for (int i = 0; i < 7; i++) use("acme", "1");
    assertThat(raised()).isEmpty(); // 70 %
    use("acme", "1");
    List<JsonNode> at80 = raised();
    assertThat(at80).singleElement().satisfies(e -> {
      assertThat(e.path("data").path("threshold").asDouble()).isEqualTo(0.8);
      assertThat(e.path("data").path("used").path("gibSeconds").asText()).isEqualTo("8");
      assertThat(e.path("data").path("exhausted").asBoolean()).isFalse();
      assertThat(e.path("data").path("periodStart").asText()).isEqualTo("2026-11-01T00:00:00Z");
      assertThat(e.path("data").path("periodEnd").asText()).isEqualTo("2026-12-01T00:00:00Z");
    });
    use("acme", "1");
    assertThat(raised()).isEmpty(); // 90 %: 0.8 was raised already
    driver.advanceWallClockTime(Duration.ofMinutes(2)); // the once-a-minute look at every tenant raises nothing again
    assertThat(raised()).isEmpty();
    use("acme", "1");
    assertThat(raised()).singleElement().satisfies(e -> {
      assertThat(e.path("data").path("threshold").asDouble()).isEqualTo(1.0);
      assertThat(e.path("data").path("exhausted").asBoolean()).isTrue();
    });
    use("acme", "5");
    assertThat(raised()).isEmpty();
    assertThat(alerted).containsExactly("acme 0.8", "acme 1.0");
  }

  @Test
  void aRaisedBudgetIsANewBudgetAndAnotherTenantsUsageRaisesNothing() throws Exception {
    budgets.set(Map.of("acme", List.of(gib("10", true))));
    for (int i = 0; i < 10; i++) use("acme", "1");
    for (int i = 0; i < 10; i++) use("other", "1");
    assertThat(raised()).extracting(e -> e.path("data").path("threshold").asDouble()).containsExactly(0.8, 1.0);
    budgets.set(Map.of("acme", List.of(gib("20", true))));
    assertThat(raised()).isEmpty(); // 50 % of the new budget
    for (int i = 0; i < 6; i++) use("acme", "1");
    assertThat(raised()).singleElement().satisfies(e -> assertThat(e.path("data").path("budget").path("gibSeconds").asText()).isEqualTo("20"));
  }

  @Test
  void anInvocationBudgetOverADayCountsThatDayOnly() throws Exception {
    budgets.set(Map.of("acme", List.of(new Budget(BudgetPeriod.day, null, 3L, List.of(0.5), true, "UTC"))));
    use("acme", "0.1");
    assertThat(raised()).isEmpty(); // 1 of 3
    use("acme", "0.1");
    assertThat(raised()).extracting(e -> e.path("data").path("threshold").asDouble()).containsExactly(0.5);
    use("acme", "0.1");
    assertThat(raised()).singleElement().satisfies(e -> {
      assertThat(e.path("data").path("used").path("invocations").asLong()).isEqualTo(3);
      assertThat(e.path("data").path("periodEnd").asText()).isEqualTo("2026-11-28T00:00:00Z");
    });
    driver.advanceWallClockTime(Duration.ofDays(1)); // the next day: yesterday's usage is not today's
    use("acme", "0.1"); // a late record of yesterday's hour still counts for yesterday
    assertThat(raised()).isEmpty();
  }
}
