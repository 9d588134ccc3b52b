package dev.conveyor.engine.metering;

import dev.conveyor.engine.config.ConveyorConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The rollup topology on Kafka Streams' test driver: dedupe by id, late records, corrections. */
class UsageRollupTopologyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private TopologyTestDriver driver;
  private java.nio.file.Path state;
  private TestInputTopic<String, byte[]> usage;
  private TestOutputTopic<String, byte[]> rollups;

  @BeforeEach
  void start() throws Exception {
    state = Files.createTempDirectory("rollup-test");
    open();
  }

  /** A driver on {@link #state}: a replica (re)starting with the local stores it left. */
  private void open() {
    open(java.time.Instant.now());
  }

  /** The same, its wall clock (what the dedupe's days are counted by) starting at {@code wallClock}. */
  private void open(java.time.Instant wallClock) {
    open(wallClock, null);
  }

  /** The same, writing usage-seen entries in {@code form} (null: the default). */
  private void open(java.time.Instant wallClock, ConveyorConfig.DedupeEntries form) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "rollup-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    driver = new TopologyTestDriver(form == null ? UsageRollupTopology.build("usage", "rollups", 7)
        : UsageRollupTopology.build("usage", "rollups", 7, null, form), p, wallClock);
    usage = driver.createInputTopic("usage", Serdes.String().serializer(), Serdes.ByteArray().serializer());
    rollups = driver.createOutputTopic("rollups", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  private static byte[] record(String tenant, String fn, String invocation, int attempt, String outcome, String time, long billed,
      String gib, boolean cold) throws Exception {
    ObjectNode ce = JSON.createObjectNode().put("specversion", "1.0").put("type", UsageEmitter.TYPE).put("source", "//t")
        .put("id", invocation + ":" + attempt).put("time", time);
    ce.putObject("data").put("tenant", tenant).put("namespace", tenant).put("function", fn).put("invocationId", invocation)
        .put("attempt", attempt).put("outcome", outcome).put("billedDurationMs", billed).put("gibSeconds", gib)
        .put("coldStart", cold).put("requestBytes", 10).put("responseBytes", 20);
    return JSON.writeValueAsBytes(ce);
  }

  private static byte[] adjustment(String id, String tenant, String originalId, String action, Map<String, Object> delta)
      throws Exception {
    ObjectNode ce = JSON.createObjectNode().put("specversion", "1.0").put("type", UsageRollupTopology.ADJUSTMENT)
        .put("source", "//t").put("id", id).put("time", "2026-11-27T12:00:00.000Z");
    ObjectNode d = ce.putObject("data").put("tenant", tenant).put("originalId", originalId).put("action", action);
    if (delta != null) d.set("delta", JSON.valueToTree(delta));
    return JSON.writeValueAsBytes(ce);
  }

  /** The rollups sent by the next punctuation (once a second). */
  private Map<String, byte[]> sent() {
    driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
    return rollups.readKeyValuesToMap();
  }

  private UsageTotals latest(String key) {
    Map<String, byte[]> all = sent();
    return all.containsKey(key) ? UsageTotals.parse(all.get(key)) : null;
  }

  @Test
  void recordsAddUpPerFunctionAndHourAndEachIdCountsOnce() throws Exception {
    usage.pipeInput("acme", record("acme", "resize", "i1", 1, "error", "2026-11-27T10:15:00.000Z", 100, "0.012500000", true));
    usage.pipeInput("acme", record("acme", "resize", "i1", 2, "success", "2026-11-27T10:16:00.000Z", 37, "0.004625000", false));
    usage.pipeInput("acme", record("acme", "resize", "i1", 2, "success", "2026-11-27T10:17:00.000Z", 99, "0.999000000", false));
    usage.pipeInput("acme", record("acme", "resize", "i2", 1, "timeout", "2026-11-27T10:59:59.999Z", 3000, "0.375000000", false));
    UsageTotals t = latest("acme/acme/resize/2026-11-27T10:00:00Z");
    assertThat(t.invocations()).isEqualTo(2);
    assertThat(t.attempts()).isEqualTo(3);
    assertThat(t.success()).isEqualTo(1);
    assertThat(t.error()).isEqualTo(1);
    assertThat(t.timeout()).isEqualTo(1);
    assertThat(t.billedDurationMs()).isEqualTo(3137);
    assertThat(t.gibSeconds()).isEqualByComparingTo(new BigDecimal("0.392125000"));
    assertThat(t.coldStarts()).isEqualTo(1);
    assertThat(t.requestBytes()).isEqualTo(30);
  }

  @Test
  void rollupsAreStampedInOrderWhateverTheOrderOfTheirRecords() throws Exception {
    java.time.Instant t = java.time.Instant.parse("2026-11-27T10:30:00Z");
    usage.pipeInput(new org.apache.kafka.streams.test.TestRecord<>("acme",
        record("acme", "f", "o1", 1, "success", "2026-11-27T10:20:00.000Z", 10, "0.001250000", false), t.plusSeconds(10)));
    driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
    usage.pipeInput(new org.apache.kafka.streams.test.TestRecord<>("acme",
        record("acme", "f", "o2", 1, "success", "2026-11-27T10:10:00.000Z", 10, "0.001250000", false), t));
    driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
    var out = rollups.readRecordsToList();
    assertThat(out).hasSize(2);
    // The usage records' own timestamps go backwards; the rollups' must not (the emitting table warns of each).
    assertThat(out.stream().map(org.apache.kafka.streams.test.TestRecord::timestamp).toList()).isSorted();
    assertThat(UsageTotals.parse(out.get(1).value()).invocations()).isEqualTo(2);
  }

  @Test
  void aLateRecordUpdatesItsOwnHour() throws Exception {
    usage.pipeInput("acme", record("acme", "f", "i1", 1, "success", "2026-11-27T11:05:00.000Z", 10, "0.001250000", false));
    usage.pipeInput("acme", record("acme", "f", "i0", 1, "success", "2026-11-27T09:59:00.000Z", 20, "0.002500000", false));
    Map<String, byte[]> out = sent();
    assertThat(UsageTotals.parse(out.get("acme/acme/f/2026-11-27T09:00:00Z")).billedDurationMs()).isEqualTo(20);
    assertThat(UsageTotals.parse(out.get("acme/acme/f/2026-11-27T11:00:00Z")).billedDurationMs()).isEqualTo(10);
  }

  @Test
  void aVoidSubtractsTheOriginalOnceAndADeltaAddsItsAmounts() throws Exception {
    usage.pipeInput("acme", record("acme", "f", "i1", 1, "success", "2026-11-27T10:00:00.000Z", 100, "0.012500000", false));
    usage.pipeInput("acme", record("acme", "f", "i2", 1, "success", "2026-11-27T10:01:00.000Z", 50, "0.006250000", false));
    usage.pipeInput("acme", adjustment("adj-1", "acme", "i1:1", "void", null));
    usage.pipeInput("acme", adjustment("adj-2", "acme", "i1:1", "void", null)); // voided already: nothing more
    usage.pipeInput("acme", adjustment("adj-1", "acme", "i1:1", "void", null)); // the same adjustment again: once
    usage.pipeInput("acme", adjustment("adj-3", "acme", "i2:1", "delta", Map.of("billedDurationMs", -10, "gibSeconds", "-0.001250000")));
    usage.pipeInput("acme", adjustment("adj-4", "globex", "i2:1", "void", null)); // another tenant's record: refused
    UsageTotals t = latest("acme/acme/f/2026-11-27T10:00:00Z");
    assertThat(t.attempts()).isEqualTo(1);
    assertThat(t.billedDurationMs()).isEqualTo(40);
    assertThat(t.gibSeconds()).isEqualByComparingTo(new BigDecimal("0.005000000"));
    // Voided in the default form: the JSON a version before the packed form reads, flagged.
    var voided = JSON.readTree(driver.<String, byte[]>getKeyValueStore(UsageRollupTopology.SEEN).get("i1:1"));
    assertThat(voided.path("voided").asBoolean()).isTrue();
    assertThat(UsageTotals.fromJson(voided.path("totals")).billedDurationMs()).isEqualTo(100);
  }

  @Test
  void whatIsKeptPerIdReadsBackAsWrittenInEitherForm() {
    UsageTotals t = new UsageTotals(2, 3, -4, 5, 6, 1234, new BigDecimal("-0.000125000"), 7, 8, -20); // every field its own value
    var kept = new UsageRollupTopology.Seen("acme/a b\nc/f/2026-11-27T10:00:00Z", t, "2026-11-27", false);
    for (var form : ConveyorConfig.DedupeEntries.values()) {
      assertThat(UsageRollupTopology.Seen.of(kept.bytes(form))).as(form.name()).isEqualTo(kept);
      assertThat(UsageRollupTopology.Seen.of(kept.asVoided().bytes(form))).as(form.name()).isEqualTo(kept.asVoided())
          .extracting(UsageRollupTopology.Seen::voided).isEqualTo(true);
    }
    assertThat(kept.bytes(ConveyorConfig.DedupeEntries.packed).length).as("packed")
        .isLessThan(kept.bytes(ConveyorConfig.DedupeEntries.json).length / 2);
    assertThatThrownBy(() -> UsageRollupTopology.Seen.of(new byte[] {UsageRollupTopology.Seen.PACKED}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> UsageRollupTopology.Seen.of(new byte[] {UsageRollupTopology.Seen.PACKED, 0, 'x', '\n', 'k'}))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> UsageRollupTopology.Seen.of("[1]".getBytes())).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void entriesAreJsonByDefaultWithWhatVersionsBeforeThePackedFormRead() throws Exception {
    usage.pipeInput("acme", record("acme", "f", "j", 1, "success", "2026-11-27T10:00:00.000Z", 100, "0.012500000", false));
    var json = JSON.readTree(driver.<String, byte[]>getKeyValueStore(UsageRollupTopology.SEEN).get("j:1"));
    assertThat(json.path("key").asText()).isEqualTo("acme/acme/f/2026-11-27T10:00:00Z");
    assertThat(UsageTotals.fromJson(json.path("totals")).billedDurationMs()).isEqualTo(100);
  }

  @Test
  void entriesArePackedWhenSetAndCorrectionsReadBothForms() throws Exception {
    driver.close();
    open(java.time.Instant.now(), ConveyorConfig.DedupeEntries.packed);
    String hour = "acme/acme/f/2026-11-27T10:00:00Z";
    KeyValueStore<String, byte[]> seen = driver.getKeyValueStore(UsageRollupTopology.SEEN);
    usage.pipeInput("acme", record("acme", "f", "j", 1, "success", "2026-11-27T10:00:00.000Z", 100, "0.012500000", false));
    usage.pipeInput("acme", record("acme", "f", "p", 1, "success", "2026-11-27T10:00:00.000Z", 50, "0.006250000", false));
    assertThat(seen.get("p:1")[0]).as("packed").isEqualTo(UsageRollupTopology.Seen.PACKED);
    assertThat(latest(hour).billedDurationMs()).isEqualTo(150);
    // j:1 as a replica writing JSON left it (the default), and what versions that only wrote JSON left
    // behind: voided already, and not yet.
    seen.put("j:1", UsageRollupTopology.Seen.of(seen.get("j:1")).bytes(ConveyorConfig.DedupeEntries.json));
    seen.put("old:1", JSON.writeValueAsBytes(JSON.createObjectNode().put("key", hour).put("day", "2026-11-27")
        .set("totals", new UsageTotals(1, 1, 1, 0, 0, 30, new BigDecimal("0.003750000"), 0, 10, 20).toJson())));
    seen.put("old:2", JSON.writeValueAsBytes(JSON.createObjectNode().put("key", hour).put("voided", true)
        .set("totals", new UsageTotals(1, 1, 1, 0, 0, 7, new BigDecimal("0.000875000"), 0, 10, 20).toJson())));
    for (String id : java.util.List.of("j:1", "p:1", "old:1", "old:2")) {
      usage.pipeInput("acme", adjustment("void-" + id, "acme", id, "void", null));
      usage.pipeInput("acme", adjustment("again-" + id, "acme", id, "void", null)); // voided already: nothing more
    }
    usage.pipeInput("acme", adjustment("delta-old", "acme", "old:2", "delta", Map.of("billedDurationMs", 5)));
    UsageTotals after = latest(hour);
    assertThat(after.billedDurationMs()).as("150 - 100 - 50 - 30 + 5 (old:2 voided before)").isEqualTo(-25);
    assertThat(after.gibSeconds()).isEqualByComparingTo(new BigDecimal("-0.003750000"));
    assertThat(UsageRollupTopology.Seen.of(seen.get("j:1")).voided()).isTrue();
    assertThat(seen.get("j:1")[0]).as("rewritten in the form set").isEqualTo(UsageRollupTopology.Seen.PACKED);
    assertThat(UsageRollupTopology.Seen.of(seen.get("old:1")).voided()).isTrue();
  }

  @Test
  void garbageIsSkippedAndTheStreamGoesOn() throws Exception {
    usage.pipeInput("acme", "not json".getBytes());
    usage.pipeInput("acme", "{\"type\":\"x\"}".getBytes());
    usage.pipeInput("acme", record("acme", "f", "i1", 1, "success", "2026-11-27T10:00:00.000Z", 5, "0.000625000", false));
    assertThat(latest("acme/acme/f/2026-11-27T10:00:00Z").attempts()).isEqualTo(1);
  }

  @Test
  void anHourGoesOutOncePerSecondNotOncePerRecord() throws Exception {
    for (int i = 0; i < 100; i++) {
      usage.pipeInput("acme", record("acme", "f", "n" + i, 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    }
    assertThat(rollups.isEmpty()).as("nothing before the second is up").isTrue();
    driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
    var out = rollups.readRecordsToList();
    assertThat(out).hasSize(1);
    assertThat(UsageTotals.parse(out.get(0).value()).attempts()).isEqualTo(100);
    driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
    assertThat(rollups.isEmpty()).as("an hour that did not change is not sent again").isTrue();
  }

  @Test
  void anHourThatChangedIsKeptInTheLoggedPendingStoreUntilItIsSent() throws Exception {
    usage.pipeInput("acme", record("acme", "f", "a", 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    assertThat(sent()).containsOnlyKeys("acme/acme/f/2026-11-27T10:00:00Z");
    usage.pipeInput("acme", record("acme", "f", "b", 1, "success", "2026-11-27T11:00:00.000Z", 7, "0.000875000", false));
    // A commit now stores this (the store has a changelog): a replica taking the task over sends it.
    KeyValueStore<String, byte[]> pending = driver.getKeyValueStore(UsageRollupTopology.PENDING);
    assertThat(pending.get("acme/acme/f/2026-11-27T11:00:00Z")).isNotNull();
    assertThat(pending.get("acme/acme/f/2026-11-27T10:00:00Z")).isNull();
    Map<String, byte[]> out = sent();
    assertThat(out).as("the pending hour, and only it").containsOnlyKeys("acme/acme/f/2026-11-27T11:00:00Z");
    assertThat(UsageTotals.parse(out.get("acme/acme/f/2026-11-27T11:00:00Z")).billedDurationMs()).isEqualTo(7);
    assertThat(pending.get("acme/acme/f/2026-11-27T11:00:00Z")).isNull();
  }

  @Test
  void anHourThatChangesAgainAfterItWasSentIsPendingAndSentAgain() throws Exception {
    String hour = "acme/acme/f/2026-11-27T10:00:00Z";
    usage.pipeInput("acme", record("acme", "f", "a", 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    usage.pipeInput("acme", record("acme", "f", "b", 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    assertThat(sent()).containsOnlyKeys(hour);
    usage.pipeInput("acme", record("acme", "f", "c", 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    assertThat(driver.<String, byte[]>getKeyValueStore(UsageRollupTopology.PENDING).get(hour)).isNotNull();
    Map<String, byte[]> out = sent();
    assertThat(out).containsOnlyKeys(hour);
    assertThat(UsageTotals.parse(out.get(hour)).attempts()).isEqualTo(3);
  }

  @Test
  void anHourIsMarkedPendingAgainWhenItsStoreNoLongerHoldsThisProcessorsMark() throws Exception {
    String hour = "acme/acme/f/2026-11-27T10:00:00Z";
    assertThat(sent()).isEmpty(); // the first emission, with the once-only resend of every rollup
    usage.pipeInput("acme", record("acme", "f", "a", 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    KeyValueStore<String, byte[]> pending = driver.getKeyValueStore(UsageRollupTopology.PENDING);
    pending.delete(hour); // the store changed under the processor (as a restore from the changelog could)
    usage.pipeInput("acme", record("acme", "f", "b", 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    assertThat(pending.get(hour)).isNotNull();
    assertThat(sent()).containsOnlyKeys(hour);
  }

  @Test
  void rollupsMadeBeforeThePendingStoreExistedAreSentOnceWhole() throws Exception {
    // An older version's rollup: in the rollups store, never marked pending.
    KeyValueStore<String, byte[]> stored = driver.getKeyValueStore(UsageRollupTopology.ROLLUPS);
    stored.put("acme/acme/old/2026-11-01T00:00:00Z", new UsageTotals(1, 1, 1, 0, 0, 5, BigDecimal.ONE, 0, 1, 1).bytes());
    assertThat(sent()).containsOnlyKeys("acme/acme/old/2026-11-01T00:00:00Z");
    assertThat(sent()).as("once").isEmpty();
  }

  @Test
  void anHourIsAddedToWhatItsStoreHoldsNotToWhatThisProcessorLastWrote() throws Exception {
    String hour = "acme/acme/f/2026-11-27T10:00:00Z";
    usage.pipeInput("acme", record("acme", "f", "m1", 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    // The store's value replaced under the processor (as a restore from the changelog would).
    driver.<String, byte[]>getKeyValueStore(UsageRollupTopology.ROLLUPS)
        .put(hour, new UsageTotals(5, 5, 5, 0, 0, 50, new BigDecimal("0.5"), 0, 0, 0).bytes());
    usage.pipeInput("acme", record("acme", "f", "m2", 1, "success", "2026-11-27T10:00:00.000Z", 1, "0.000125000", false));
    UsageTotals t = latest(hour);
    assertThat(t.attempts()).isEqualTo(6);
    assertThat(t.billedDurationMs()).isEqualTo(51);
  }

  @Test
  void theRollupsReadWhatTheEmitterWrites() throws Exception {
    var inv = new dev.conveyor.engine.api.Invocation("0197ab2c-1111-7222-8333-444455556666", "acme", "acme", "resize", null,
        new byte[12], null, Map.of(), java.time.Instant.parse("2026-03-01T10:00:00Z"), null, null, null, "http");
    UsageEmitter e = new UsageEmitter(null, "conveyor.usage", "//conveyor/test", 100);
    var a = new UsageEmitter.Attempt(inv, 1, InvocationMode.async, "http", AttemptOutcome.success, 200, java.time.Instant.parse("2026-03-01T10:00:01Z"),
        java.time.Instant.parse("2026-03-01T10:00:01.234Z"), true, 180, 5, 256, 12, 34, "resize-00002");
    UsageRollupTopology.Event ce = UsageRollupTopology.Event.read(e.record(a).value());
    assertThat(ce.id()).isEqualTo(inv.id() + ":1");
    assertThat(ce.type()).isEqualTo(UsageEmitter.TYPE);
    assertThat(ce.time()).isEqualTo("2026-03-01T10:00:01.234Z");
    assertThat(ce.data()).isEqualTo(new UsageRollupTopology.Data("acme", "acme", "resize", 1, "success", 300, "0.075000000", true, 12, 34));
  }

  @Test
  void anEventIsReadWhateverElseItCarriesAndRefusedWhenItIsNotAnObject() throws Exception {
    var ce = UsageRollupTopology.Event.read(("{\"x\":{\"id\":\"no\"},\"id\":\"u1\",\"type\":\"t\",\"ext\":[1,{\"a\":2}],"
        + "\"data\":{\"nested\":{\"attempt\":9},\"attempt\":\"2\",\"coldStart\":\"true\",\"billedDurationMs\":7,"
        + "\"gibSeconds\":0.5,\"tenant\":\"acme\"}}").getBytes());
    assertThat(ce.id()).isEqualTo("u1");
    assertThat(ce.data().attempt()).isEqualTo(2);
    assertThat(ce.data().coldStart()).isTrue();
    assertThat(ce.data().billedDurationMs()).isEqualTo(7);
    assertThat(ce.data().gibSeconds()).isEqualTo("0.5");
    assertThat(UsageRollupTopology.Event.read("null".getBytes())).isNull();
    assertThat(UsageRollupTopology.Event.read("{\"id\":\"u\",\"data\":null}".getBytes()).data()).isNull();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> UsageRollupTopology.Event.read("[1]".getBytes()))
        .isInstanceOf(java.io.IOException.class);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> UsageRollupTopology.Event.read("{\"id\":{\"a\":1}}".getBytes()))
        .isInstanceOf(java.io.IOException.class);
  }

  /** The ids {@code usage-seen-by-day} lists under {@code day}, and how many entries list them. */
  private java.util.List<String> listed(String day, int[] entries) {
    KeyValueStore<String, byte[]> byDay = driver.getKeyValueStore(UsageRollupTopology.SEEN_BY_DAY);
    java.util.List<String> ids = new java.util.ArrayList<>();
    try (var it = byDay.range(day + "|", day + "|\uffff")) {
      while (it.hasNext()) {
        var kv = it.next();
        ids.addAll(UsageRollupTopology.Rollup.ids(kv.key, kv.value));
        entries[0]++;
      }
    }
    return ids;
  }

  /** Ids longer than usage ids (an invocation id and the attempt): an entry grows past its first buffer. */
  private static String longId(int i) {
    return "a" + i + "-" + "x".repeat(60);
  }

  @Test
  void idsAreListedByDayManyToAnEntryAndForgottenWholeAfterTheDedupeWindow() throws Exception {
    driver.close();
    java.time.Instant day0 = java.time.Instant.parse("2026-11-20T12:00:00Z");
    open(day0);
    String hour = "acme/acme/f/2026-11-20T11:00:00Z";
    for (int i = 0; i < 40; i++) {
      usage.pipeInput("acme", record("acme", "f", longId(i), 1, "success", "2026-11-20T11:30:00.000Z", 1, "0.000125000", false));
    }
    // What a version that kept an entry per id left behind, and an id with the separator in it.
    KeyValueStore<String, byte[]> seen = driver.getKeyValueStore(UsageRollupTopology.SEEN);
    KeyValueStore<String, byte[]> byDay = driver.getKeyValueStore(UsageRollupTopology.SEEN_BY_DAY);
    seen.put("legacy:1", "{}".getBytes());
    byDay.put("2026-11-20|legacy:1", new byte[0]);
    usage.pipeInput("acme", record("acme", "f", "odd\nid", 1, "success", "2026-11-20T11:30:00.000Z", 1, "0.000125000", false));
    for (int i = 40; i < 70; i++) {
      usage.pipeInput("acme", record("acme", "f", longId(i), 1, "success", "2026-11-20T11:30:00.000Z", 1, "0.000125000", false));
    }
    int[] entries = {0};
    java.util.List<String> ids = listed("2026-11-20", entries);
    java.util.List<String> expected = new java.util.ArrayList<>(java.util.stream.IntStream.range(0, 70).mapToObj(i -> longId(i) + ":1").toList());
    expected.add("legacy:1");
    expected.add("odd\nid:1");
    assertThat(ids).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(entries[0]).as("32 ids, 8, the odd id (in its key) and the 30 after it, the legacy id").isEqualTo(4);
    assertThat(latest(hour).attempts()).isEqualTo(71);

    // Three days on: a record of that day; a copy of an old one is still a duplicate.
    driver.advanceWallClockTime(java.time.Duration.ofDays(3));
    usage.pipeInput("acme", record("acme", "f", "b0", 1, "success", "2026-11-23T12:00:00.000Z", 1, "0.000125000", false));
    usage.pipeInput("acme", record("acme", "f", longId(5), 1, "success", "2026-11-20T11:30:00.000Z", 1, "0.000125000", false));
    driver.advanceWallClockTime(java.time.Duration.ofMinutes(10)); // the purge runs every 10 minutes
    assertThat(seen.get(longId(5) + ":1")).as("within the window").isNotNull();
    assertThat(sent()).doesNotContainKey(hour);

    // Eight days after the first: every id of that day is forgotten, the later one is not.
    driver.advanceWallClockTime(java.time.Duration.ofDays(5));
    for (String id : expected) assertThat(seen.get(id)).as(id).isNull();
    assertThat(listed("2026-11-20", new int[1])).isEmpty();
    assertThat(seen.get("b0:1")).isNotNull();
    assertThat(listed("2026-11-23", new int[1])).containsExactly("b0:1");
    // A copy arriving after the window counts again, as documented.
    usage.pipeInput("acme", record("acme", "f", longId(5), 1, "success", "2026-11-20T11:30:00.000Z", 1, "0.000125000", false));
    assertThat(latest(hour).attempts()).isEqualTo(72);
  }

  @Test
  void theHourOfATimeIsTheHourInstantParseGives() {
    var hours = new UsageRollupTopology.Hours();
    java.util.Random random = new java.util.Random(7);
    java.util.List<String> times = new java.util.ArrayList<>();
    java.time.Instant t = java.time.Instant.parse("2026-11-27T09:58:00Z");
    for (int i = 0; i < 2_000; i++) {
      t = t.plusMillis(random.nextInt(20_000));
      times.add(dev.conveyor.engine.api.Rfc3339.millis(t));
      times.add(t.toString());
    }
    // The same hours written otherwise, or not times at all, after a time of that hour.
    times.addAll(java.util.List.of("2026-11-27T10:00:00Z", "2026-11-27T10:05:00.5Z", "2026-11-27T10:05:00.123456789Z",
        "2026-11-27T10:05:00+01:00", "2026-11-27T10:05:00.000+00:00", "2026-12-31T23:59:60Z", "2026-11-27T10:00:00Z",
        "2026-11-27T10:60:00Z", "2026-11-27T10:05:61Z", "2026-11-27T10:05:00.Z", "2026-11-27T10:05:00.1234567890Z",
        "2026-11-27T10:05:0aZ", "2026-11-27T10:05:00z", "2026-11-27T10:05:00.12aZ", "2026-11-27T10:05Z", "2026-11-27T10",
        "2026-11-27T10:05:00.000Z", "2026-02-30T10:05:00Z", "2026-11-27T10:5:00.000Z", "+12026-11-27T10:05:00Z",
        "2026-11-27T24:00:00Z", "2026-11-27T24:30:00Z", "2026-11-27T24:00:00.000Z", "2026-11-27T25:00:00Z"));
    for (String time : times) {
      String expected;
      try {
        expected = java.time.Instant.parse(time).truncatedTo(java.time.temporal.ChronoUnit.HOURS).toString();
      } catch (java.time.format.DateTimeParseException e) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> hours.of(time)).as(time)
            .isInstanceOf(java.time.format.DateTimeParseException.class);
        continue;
      }
      assertThat(hours.of(time)).as(time).isEqualTo(expected);
    }
  }
}
