package dev.conveyor.engine.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import dev.conveyor.engine.config.ConveyorConfig.Budget;
import dev.conveyor.engine.config.ConveyorConfig.DedupeEntries;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka Streams topology that rolls {@code conveyor.usage} up per tenant, function and hour,
 * run with {@code exactly_once_v2}: reading a record, updating the stores and writing the new
 * rollup commit together, so a crash neither loses nor doubles a record's contribution.
 *
 * <ul>
 *   <li>Each record id counts once: the first record of an id is kept in {@code usage-seen} (with
 *       its contribution and rollup key) for {@code dedupeDays}; a later record with that id (an
 *       attempt re-emitted after a crash) is skipped. {@code usage-seen-by-day} lists the ids by the
 *       day they were first seen, so that they can be forgotten: up to {@link #IDS_PER_ENTRY} ids per
 *       entry, keyed {@code day|firstId}, the others in its value. The store is cached, so an entry
 *       that grows with every record reaches RocksDB and its changelog once per commit, in the same
 *       transaction as the ids it lists; an entry of one id (the form before entries grouped ids)
 *       is read the same way.
 *   <li>A record adds to the hour of its {@code time} (the attempt's end), whenever it arrives:
 *       late records update their own hour.
 *   <li>Corrections ({@link #ADJUSTMENT}) are new events, never edits: {@code action: void}
 *       subtracts an original record's whole contribution (once), {@code action: delta} adds
 *       {@code delta} (usually negative) to the original's hour.
 *   <li>Every second the new totals of the hours that changed are written to
 *       {@code conveyor.usage-rollups} (compacted, key {@code tenant/namespace/function/hour}),
 *       which every replica follows for the usage API. The hours that changed since are kept in a
 *       store of their own ({@code usage-rollups-pending}), so a commit that falls between a
 *       change and its emission loses nothing: the next punctuation, on this replica or on the
 *       one that takes the task over, sends it. Emitting from the processor needs no repartition
 *       topic: the usage topic's key is the tenant, so a tenant's records and rollups live on one
 *       task, and each record costs no extra write and read of the broker.
 * </ul>
 */
public final class UsageRollupTopology {
  public static final String ADJUSTMENT = "dev.conveyor.invocation.usage.adjustment.v1";
  static final String SEEN = "usage-seen";
  static final String SEEN_BY_DAY = "usage-seen-by-day";
  static final String ROLLUPS = "usage-rollups";
  static final String PENDING = "usage-rollups-pending";
  /** Each tenant's invocations and GiB-seconds per hour (all functions): what budgets are read from. */
  static final String TENANT_HOURS = "usage-tenant-hours";
  /** The budget thresholds already announced: one key per tenant, budget, period and threshold. */
  static final String ALERTS = "budget-alerts";
  /** A key of {@link #TENANT_HOURS} that no hour has: present once the hours were filled from the rollups. */
  static final String FILLED = "\u0000filled";
  /** The type of the event raised when a budget threshold is crossed. */
  public static final String BUDGET_EVENT = "dev.conveyor.budget.threshold.v1";
  /** How long tenant hours and announced thresholds are kept: the longest period, a month, and some. */
  static final Duration KEEP_PERIODS = Duration.ofDays(62);
  /** A key of {@link #PENDING} that no rollup has: present once the rollups made before it existed were re-sent. */
  static final String RESENT = "\u0000resent";
  private static final byte[] EMPTY = new byte[0];
  /** How many ids one entry of {@link #SEEN_BY_DAY} lists (each record rewrites its entry in the cache). */
  static final int IDS_PER_ENTRY = 32;
  /** Separates the ids in an entry's value; an id containing it gets an entry of its own (in the key). */
  private static final byte ID_SEPARATOR = '\n';
  private static final Logger LOG = LoggerFactory.getLogger(UsageRollupTopology.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The fields of a usage CloudEvent that the rollups read (adjustments are read as a tree: they are
   * rare), with Jackson's streaming parser: binding them onto these records with databind was a
   * third of the rollups thread's time (JFR, drain). Other fields are skipped; a value of the wrong
   * shape is an error, as binding made it.
   */
  record Event(String id, String type, String time, Data data) {
    /** Null for a JSON {@code null}. */
    static Event read(byte[] bytes) throws IOException {
      try (JsonParser p = JSON.getFactory().createParser(bytes)) {
        JsonToken first = p.nextToken();
        if (first == JsonToken.VALUE_NULL) return null;
        if (first != JsonToken.START_OBJECT) throw new JsonParseException(p, "not a JSON object");
        String id = null;
        String type = null;
        String time = null;
        Data data = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken v = p.nextToken();
          switch (field) {
            case "id" -> id = text(p, v);
            case "type" -> type = text(p, v);
            case "time" -> time = text(p, v);
            case "data" -> data = v == JsonToken.VALUE_NULL ? null : Data.read(p, v);
            default -> p.skipChildren();
          }
        }
        return new Event(id, type, time, data);
      }
    }

    private static String text(JsonParser p, JsonToken v) throws IOException {
      return v == JsonToken.VALUE_NULL ? null : scalar(p, v).getText();
    }

    /** The parser at a scalar (numbers and booleans may come as text, as binding took them). */
    private static JsonParser scalar(JsonParser p, JsonToken v) throws IOException {
      if (!v.isScalarValue()) throw new JsonParseException(p, "expected a value for " + p.currentName());
      return p;
    }
  }

  /** The {@code data} of a usage record, as far as the rollups read it. */
  record Data(String tenant, String namespace, String function, int attempt, String outcome, long billedDurationMs,
      String gibSeconds, boolean coldStart, long requestBytes, long responseBytes) {
    static Data read(JsonParser p, JsonToken start) throws IOException {
      if (start != JsonToken.START_OBJECT) throw new JsonParseException(p, "data is not a JSON object");
      String tenant = null;
      String namespace = null;
      String function = null;
      String outcome = null;
      String gibSeconds = null;
      int attempt = 0;
      long billed = 0;
      long requestBytes = 0;
      long responseBytes = 0;
      boolean cold = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken v = p.nextToken();
        switch (field) {
          case "tenant" -> tenant = Event.text(p, v);
          case "namespace" -> namespace = Event.text(p, v);
          case "function" -> function = Event.text(p, v);
          case "outcome" -> outcome = Event.text(p, v);
          case "gibSeconds" -> gibSeconds = Event.text(p, v);
          case "attempt" -> attempt = Event.scalar(p, v).getValueAsInt();
          case "billedDurationMs" -> billed = Event.scalar(p, v).getValueAsLong();
          case "requestBytes" -> requestBytes = Event.scalar(p, v).getValueAsLong();
          case "responseBytes" -> responseBytes = Event.scalar(p, v).getValueAsLong();
          case "coldStart" -> cold = Event.scalar(p, v).getValueAsBoolean();
          default -> p.skipChildren();
        }
      }
      return new Data(tenant, namespace, function, attempt, outcome, billed, gibSeconds, cold, requestBytes, responseBytes);
    }

    /** The record's contribution: one attempt, one invocation if it is the first attempt. */
    UsageTotals totals() {
      return new UsageTotals(attempt == 1 ? 1 : 0, 1, "success".equals(outcome) ? 1 : 0, "error".equals(outcome) ? 1 : 0,
          "timeout".equals(outcome) ? 1 : 0, billedDurationMs, new BigDecimal(gibSeconds == null ? "0" : gibSeconds),
          coldStart ? 1 : 0, requestBytes, responseBytes);
    }
  }

  private UsageRollupTopology() {}

  /**
   * Where budget events go and what the budgets are: {@code budgets} gives the tenants' budgets as
   * configured now (read at each evaluation, so a reload applies), {@code source} is the events'
   * CloudEvents source, {@code alerted} hears of each event raised (for a metric).
   */
  public record BudgetEvents(String topic, String source, java.util.function.Supplier<Map<String, List<Budget>>> budgets,
      Alerted alerted) {}

  /** Told of each budget event this replica raises. */
  public interface Alerted {
    void alerted(String tenant, String period, double threshold);
  }

  public static Topology build(String usageTopic, String rollupTopic, int dedupeDays) {
    return build(usageTopic, rollupTopic, dedupeDays, null);
  }

  /** With {@code budgets} null, no budget is evaluated and no event topic written. */
  public static Topology build(String usageTopic, String rollupTopic, int dedupeDays, BudgetEvents budgets) {
    return build(usageTopic, rollupTopic, dedupeDays, budgets, DedupeEntries.json);
  }

  /** {@code form}: how usage-seen entries are written ({@code metering.dedupeEntries}); both forms are read. */
  public static Topology build(String usageTopic, String rollupTopic, int dedupeDays, BudgetEvents budgets, DedupeEntries form) {
    Topology t = new Topology();
    t.addSource("usage", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), usageTopic);
    t.addProcessor("rollup", () -> new Rollup(dedupeDays, budgets, form), "usage");
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SEEN), Serdes.String(), Serdes.ByteArray()), "rollup");
    // Cached: an entry lists many ids and is rewritten with each (see IDS_PER_ENTRY).
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SEEN_BY_DAY), Serdes.String(), Serdes.ByteArray())
        .withCachingEnabled(), "rollup");
    // Cached, like the pending hours and the tenant hours: an hour's totals change with every
    // record, but reach the changelog once per commit.
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(ROLLUPS), Serdes.String(), Serdes.ByteArray())
        .withCachingEnabled(), "rollup");
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PENDING), Serdes.String(), Serdes.ByteArray())
        .withCachingEnabled(), "rollup");
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TENANT_HOURS), Serdes.String(), Serdes.ByteArray())
        .withCachingEnabled(), "rollup");
    t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(ALERTS), Serdes.String(), Serdes.ByteArray()), "rollup");
    t.addSink("rollups", rollupTopic, Serdes.String().serializer(), Serdes.ByteArray().serializer(), "rollup");
    if (budgets != null) {
      t.addSink("budget-events", budgets.topic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), "rollup");
    }
    return t;
  }

  /** The rollup key of a record: {@code tenant/namespace/function/hour}. */
  public static String key(String tenant, String namespace, String function, Instant time) {
    return key(tenant, namespace, function, time.truncatedTo(ChronoUnit.HOURS).toString());
  }

  private static String key(String tenant, String namespace, String function, String hour) {
    return tenant + "/" + namespace + "/" + function + "/" + hour;
  }

  /**
   * The hour of a record's {@code time} as {@link Instant#toString} writes it (the rollup key's last
   * part). {@link Instant#parse} was a twentieth of the rollups thread (drain profile), and nearly
   * every record falls in the hour of the one before: a time in the usage records' own form
   * ({@code yyyy-MM-ddTHH:mm:ss[.fraction]Z}) whose first 13 characters are those of the last time
   * parsed in that form, and whose hour, minutes and seconds are valid, has that time's hour; any
   * other is parsed.
   */
  static final class Hours {
    private String prefix;
    private String hour;

    String of(String time) {
      if (prefix != null && time.regionMatches(0, prefix, 0, 13) && canonical(time)) return hour;
      String h = Instant.parse(time).truncatedTo(ChronoUnit.HOURS).toString();
      if (canonical(time)) {
        prefix = time.substring(0, 13);
        hour = h;
      }
      return h;
    }

    /**
     * {@code ????-??-??THH:mm:ss[.f{1,9}]Z} with hours 00-23, minutes and seconds 00-59 (a leap
     * second is parsed; so is 24:00, which {@link Instant#parse} takes as the next day's midnight).
     */
    private static boolean canonical(String t) {
      int n = t.length();
      if (n < 20 || n > 30 || t.charAt(13) != ':' || t.charAt(16) != ':' || t.charAt(n - 1) != 'Z') return false;
      if (!digit(t.charAt(11)) || !digit(t.charAt(12)) || (t.charAt(11) - '0') * 10 + (t.charAt(12) - '0') > 23) return false;
      if (!sixty(t, 14) || !sixty(t, 17)) return false;
      if (n == 20) return true;
      if (n == 21 || t.charAt(19) != '.') return false;
      for (int i = 20; i < n - 1; i++) {
        if (!digit(t.charAt(i))) return false;
      }
      return true;
    }

    private static boolean sixty(String t, int at) {
      char a = t.charAt(at);
      return a >= '0' && a <= '5' && digit(t.charAt(at + 1));
    }

    private static boolean digit(char c) {
      return c >= '0' && c <= '9';
    }
  }

  /**
   * What {@link #SEEN} keeps for a record id: the rollup key its contribution went to ({@code ""}
   * for a correction that changed none), that contribution, the day (UTC) the id was first seen and
   * whether a correction voided it. One is written per usage record, in the form
   * {@code metering.dedupeEntries} names: the JSON object every version reads ({@code {"key",
   * "totals", "day", "voided"}}), or packed: a {@link #PACKED} byte, a flags byte (1: voided), then in
   * UTF-8 the day and the totals' ten fields separated by spaces, a newline, and the key (which may
   * hold anything). Writing the JSON was a twentieth of the rollups thread's work per record, and it
   * makes each changelog record about three times as long. Both forms are read.
   */
  record Seen(String key, UsageTotals totals, String day, boolean voided) {
    /** The first byte of the packed form: a JSON value starts with '{'. */
    static final byte PACKED = 1;

    /** In {@code form} ({@code metering.dedupeEntries}): packed, or the JSON object every version reads. */
    byte[] bytes(DedupeEntries form) {
      if (form == DedupeEntries.packed) return packed();
      return JsonBytes.of(g -> {
        g.writeStartObject();
        g.writeStringField("key", key);
        g.writeFieldName("totals");
        totals.write(g);
        g.writeStringField("day", day);
        if (voided) g.writeBooleanField("voided", true);
        g.writeEndObject();
      });
    }

    private byte[] packed() {
      UsageTotals t = totals;
      String head = day + ' ' + t.invocations() + ' ' + t.attempts() + ' ' + t.success() + ' ' + t.error() + ' '
          + t.timeout() + ' ' + t.billedDurationMs() + ' ' + t.gibSeconds().toPlainString() + ' ' + t.coldStarts() + ' '
          + t.requestBytes() + ' ' + t.responseBytes() + '\n' + key;
      byte[] body = head.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      byte[] out = new byte[body.length + 2];
      out[0] = PACKED;
      out[1] = (byte) (voided ? 1 : 0);
      System.arraycopy(body, 0, out, 2, body.length);
      return out;
    }

    Seen asVoided() {
      return new Seen(key, totals, day, true);
    }

    /** Either form; an unreadable value is an {@link IllegalArgumentException}. */
    static Seen of(byte[] v) {
      if (v.length == 0 || v[0] != PACKED) return ofJson(v);
      if (v.length < 2) throw new IllegalArgumentException("not a packed usage-seen value");
      String body = new String(v, 2, v.length - 2, java.nio.charset.StandardCharsets.UTF_8);
      int nl = body.indexOf('\n');
      String[] f = nl < 0 ? new String[0] : body.substring(0, nl).split(" ");
      if (f.length != 11) throw new IllegalArgumentException("not a packed usage-seen value");
      try {
        UsageTotals t = new UsageTotals(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
            Long.parseLong(f[5]), Long.parseLong(f[6]), new BigDecimal(f[7]), Long.parseLong(f[8]), Long.parseLong(f[9]),
            Long.parseLong(f[10]));
        return new Seen(body.substring(nl + 1), t, f[0], (v[1] & 1) != 0);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a packed usage-seen value", e);
      }
    }

    private static Seen ofJson(byte[] v) {
      JsonNode o;
      try {
        o = JSON.readTree(v);
      } catch (IOException e) {
        throw new IllegalArgumentException("not a usage-seen value", e);
      }
      if (o == null || !o.isObject()) throw new IllegalArgumentException("not a usage-seen value");
      return new Seen(o.path("key").asText(), UsageTotals.fromJson(o.path("totals")), o.path("day").asText(),
          o.path("voided").asBoolean());
    }
  }

  /** Totals as written to a store, with the array they were written as. */
  private record Read(byte[] bytes, UsageTotals totals) {}

  /** A tenant hour as last written to {@link #TENANT_HOURS}: the array written and what it says. */
  private record TenantHour(byte[] bytes, long invocations, BigDecimal gibSeconds) {}

  static final class Rollup implements Processor<String, byte[], String, byte[]> {
    private final int dedupeDays;
    private final BudgetEvents budgetEvents;
    /** The form usage-seen entries are written in ({@code metering.dedupeEntries}). */
    private final DedupeEntries form;
    private ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, byte[]> seen;
    private KeyValueStore<String, byte[]> seenByDay;
    private KeyValueStore<String, byte[]> rollups;
    private KeyValueStore<String, byte[]> pending;
    private KeyValueStore<String, byte[]> tenantHours;
    private KeyValueStore<String, byte[]> alerts;
    private boolean resendDue;
    /** Tenants whose usage changed since their budgets were last looked at. */
    private final java.util.Set<String> touched = new java.util.HashSet<>();
    /** The budgets as last looked at: a tenant whose budgets changed is looked at again. */
    private Map<String, List<Budget>> lastBudgets = Map.of();
    /** When every tenant's budgets were last looked at (a period may have ended): -1 before the first time. */
    private long allLookedAt = -1;
    /** The entry of {@link #SEEN_BY_DAY} being filled ({@code day|firstId}); null: the next id starts one. */
    private String entryKey;
    private String entryDay;
    private int entryIds;
    /** The ids of that entry after its first, each followed by {@link #ID_SEPARATOR}: its first {@link #entryLength} bytes. */
    private byte[] entryValue = new byte[IDS_PER_ENTRY * 40];
    private int entryLength;
    private final Hours hours = new Hours();
    /** The totals last written to {@link #ROLLUPS} by key, with the array written; emptied once a second. */
    private final Map<String, Read> read = new java.util.HashMap<>();
    /** The same for {@link #TENANT_HOURS}; emptied once a second. */
    private final Map<String, TenantHour> tenantRead = new java.util.HashMap<>();
    /**
     * The value this processor marks an hour pending with: an hour whose {@link #PENDING} value is
     * this very array (the store's cache gives back what was put) is not put again with each record
     * (each put into a cached store was a twelfth of the rollups thread's work per record). A store
     * restored, or an hour the emission deleted, gives back another array or none, and is put.
     */
    private final byte[] pendingMark = new byte[0];
    /** Today's date ({@code yyyy-MM-dd}, UTC) and its epoch day, for the ids first seen today. */
    private String day;
    private long epochDay = Long.MIN_VALUE;

    Rollup(int dedupeDays) {
      this(dedupeDays, null, DedupeEntries.json);
    }

    Rollup(int dedupeDays, BudgetEvents budgetEvents, DedupeEntries form) {
      this.dedupeDays = dedupeDays;
      this.budgetEvents = budgetEvents;
      this.form = form;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      this.context = context;
      this.seen = context.getStateStore(SEEN);
      this.seenByDay = context.getStateStore(SEEN_BY_DAY);
      this.rollups = context.getStateStore(ROLLUPS);
      this.pending = context.getStateStore(PENDING);
      this.tenantHours = context.getStateStore(TENANT_HOURS);
      this.alerts = context.getStateStore(ALERTS);
      this.entryKey = null; // entries are only ever extended within one run of the task
      this.read.clear();
      this.tenantRead.clear();
      context.schedule(Duration.ofMinutes(10), PunctuationType.WALL_CLOCK_TIME, this::purge);
      context.schedule(Duration.ofSeconds(1), PunctuationType.WALL_CLOCK_TIME, this::emit);
      resendDue = pending.get(RESENT) == null; // sent at the first punctuation (init may not forward)
      if (budgetEvents != null && tenantHours.get(FILLED) == null) fillTenantHours(context.currentSystemTimeMs());
    }

    /**
     * Once per store: the tenant hours of the last {@link #KEEP_PERIODS} from the rollups, which
     * versions before budgets kept without them.
     */
    private void fillTenantHours(long now) {
      String since = Instant.ofEpochMilli(now).minus(KEEP_PERIODS).truncatedTo(ChronoUnit.HOURS).toString();
      List<KeyValue<String, byte[]>> rows = new ArrayList<>();
      try (KeyValueIterator<String, byte[]> it = rollups.all()) {
        while (it.hasNext()) {
          KeyValue<String, byte[]> kv = it.next();
          if (kv.key.substring(kv.key.lastIndexOf('/') + 1).compareTo(since) >= 0) rows.add(kv);
        }
      }
      for (KeyValue<String, byte[]> kv : rows) addTenantHour(kv.key, UsageTotals.parse(kv.value));
      tenantHours.put(FILLED, EMPTY);
      if (!rows.isEmpty()) LOG.info("usage rollups: the tenant hours of budgets were filled from {} rollups", rows.size());
    }

    /**
     * Once per store: every rollup is sent again. Versions before the pending store sent changes
     * through a repartition topic; what was still on it when they stopped would never be sent.
     */
    private void resendAll(long now) {
      int n = 0;
      try (KeyValueIterator<String, byte[]> it = rollups.all()) {
        while (it.hasNext()) {
          KeyValue<String, byte[]> kv = it.next();
          context.forward(new Record<>(kv.key, kv.value, now), "rollups");
          n++;
        }
      }
      pending.put(RESENT, EMPTY);
      if (n > 0) LOG.info("usage rollups: sent all {} rollups of this task once more", n);
    }

    /** Sends the latest totals of each hour that changed since the last time, then forgets that it changed. */
    private void emit(long now) {
      boolean all = resendDue; // every rollup goes out, the pending ones with them
      if (all) {
        resendAll(now);
        resendDue = false;
      }
      List<String> sent = new ArrayList<>();
      try (KeyValueIterator<String, byte[]> it = pending.all()) {
        while (it.hasNext()) {
          String key = it.next().key;
          if (key.equals(RESENT)) continue;
          byte[] totals = rollups.get(key);
          // Stamped with this thread's clock, not the usage records': records reach an hour out of
          // their own time order (late ones, other replicas' clocks).
          if (totals != null && !all) context.forward(new Record<>(key, totals, now), "rollups");
          sent.add(key);
        }
      }
      for (String key : sent) pending.delete(key);
      read.clear(); // bounded by the hours that change within a second
      tenantRead.clear();
      if (budgetEvents != null) budgets(now);
    }

    /**
     * Looks at the budgets of the tenants whose usage changed, whose budgets changed, and once a
     * minute of all (a period ends with no usage): each threshold crossed in the current period and
     * not yet announced raises one event, stored with the announcement in the same transaction, so
     * it is raised once whatever crashes. Only the task that holds a tenant's usage (its partition of
     * the usage topic) has its hours; the others find none and raise nothing.
     */
    private void budgets(long now) {
      Map<String, List<Budget>> current = budgetEvents.budgets().get();
      boolean all = allLookedAt < 0 || now - allLookedAt >= 60_000;
      if (all) allLookedAt = now;
      Instant at = Instant.ofEpochMilli(now);
      for (Map.Entry<String, List<Budget>> e : current.entrySet()) {
        String tenant = e.getKey();
        if (all || touched.contains(tenant) || !e.getValue().equals(lastBudgets.get(tenant))) {
          for (Budget b : e.getValue()) budget(tenant, b, at);
        }
      }
      touched.clear();
      lastBudgets = current;
    }

    private void budget(String tenant, Budget b, Instant now) {
      BudgetWindows.Window w = BudgetWindows.window(b, now);
      long invocations = 0;
      BigDecimal gib = BigDecimal.ZERO;
      String end = tenant + "|" + w.end();
      try (KeyValueIterator<String, byte[]> it = tenantHours.range(tenant + "|" + w.start(), end)) {
        while (it.hasNext()) {
          KeyValue<String, byte[]> kv = it.next();
          if (kv.key.equals(end)) continue;
          String[] v = new String(kv.value, java.nio.charset.StandardCharsets.UTF_8).split(" ", 2);
          invocations += Long.parseLong(v[0]);
          gib = gib.add(new BigDecimal(v[1]));
        }
      }
      if (invocations == 0 && gib.signum() == 0) return;
      double ratio = BudgetWindows.usedRatio(b, gib, invocations);
      boolean spent = BudgetWindows.spent(b, gib, invocations);
      for (double threshold : BudgetWindows.thresholds(b)) {
        boolean reached = threshold == 1.0 ? spent : ratio >= threshold;
        if (!reached) continue;
        String key = tenant + "|" + BudgetWindows.key(b) + "|" + w.start() + "|" + threshold;
        if (alerts.get(key) != null) continue;
        alerts.put(key, Long.toString(now.toEpochMilli()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        context.forward(budgetEvent(key, tenant, b, w, threshold, ratio, gib, invocations, now), "budget-events");
        if (budgetEvents.alerted() != null) budgetEvents.alerted().alerted(tenant, b.period().name(), threshold);
      }
    }

    /** The CloudEvent announcing that {@code tenant} has used {@code threshold} of budget {@code b} in period {@code w}. */
    private Record<String, byte[]> budgetEvent(String key, String tenant, Budget b, BudgetWindows.Window w, double threshold,
        double ratio, BigDecimal gib, long invocations, Instant now) {
      String id = java.util.UUID.nameUUIDFromBytes(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString();
      ObjectNode ce = JSON.createObjectNode();
      ce.put("specversion", "1.0");
      ce.put("type", BUDGET_EVENT);
      ce.put("source", budgetEvents.source());
      ce.put("id", id);
      ce.put("subject", tenant);
      ce.put("time", dev.conveyor.engine.api.Rfc3339.millis(now));
      ce.put("datacontenttype", "application/json");
      ce.put("partitionkey", tenant);
      ObjectNode d = ce.putObject("data");
      d.put("tenant", tenant);
      d.put("period", b.period().name());
      d.put("timeZone", b.timeZone());
      d.put("periodStart", w.start().toString());
      d.put("periodEnd", w.end().toString());
      d.put("threshold", threshold);
      d.put("usedRatio", ratio);
      d.put("exhausted", BudgetWindows.spent(b, gib, invocations));
      d.put("enforce", b.enforce());
      ObjectNode used = d.putObject("used");
      used.put("gibSeconds", gib.toPlainString());
      used.put("invocations", invocations);
      ObjectNode limit = d.putObject("budget");
      if (b.gibSeconds() != null) limit.put("gibSeconds", b.gibSeconds().toPlainString());
      if (b.invocations() != null) limit.put("invocations", b.invocations());
      var headers = new org.apache.kafka.common.header.internals.RecordHeaders();
      java.nio.charset.Charset utf8 = java.nio.charset.StandardCharsets.UTF_8;
      headers.add("content-type", "application/cloudevents+json".getBytes(utf8));
      headers.add("ce_id", id.getBytes(utf8));
      headers.add("ce_type", BUDGET_EVENT.getBytes(utf8));
      headers.add("ce_source", budgetEvents.source().getBytes(utf8));
      headers.add("ce_subject", tenant.getBytes(utf8));
      return new Record<>(tenant, write(ce), now.toEpochMilli(), headers);
    }

    @Override
    public void process(Record<String, byte[]> r) {
      Event ce;
      try {
        ce = Event.read(r.value());
      } catch (IOException | RuntimeException e) {
        LOG.warn("skipping a usage record that is not a usage CloudEvent");
        return;
      }
      if (ce == null) return;
      if (ce.id() == null || ce.data() == null) {
        LOG.warn("skipping a usage record without id or data");
        return;
      }
      try {
        if (seen.get(ce.id()) != null) return; // this id counted already (an attempt re-emitted after a crash)
        if (UsageEmitter.TYPE.equals(ce.type())) {
          usage(ce);
        } else if (ADJUSTMENT.equals(ce.type())) {
          adjustment(ce.id(), JSON.readTree(r.value()).path("data"));
        }
      } catch (IOException | RuntimeException e) {
        LOG.warn("skipping usage record {}: {}", ce.id(), e.toString());
      }
    }

    private void usage(Event ce) {
      Data d = ce.data();
      String key = key(d.tenant(), d.namespace(), d.function(), hours.of(ce.time()));
      UsageTotals contribution = d.totals();
      remember(ce.id(), key, contribution);
      add(key, contribution);
    }

    private void adjustment(String id, JsonNode data) {
      String originalId = data.path("originalId").asText();
      byte[] orig = seen.get(originalId);
      if (orig == null) {
        LOG.warn("adjustment {} names {}, which is not known (older than the dedupe window, or never seen): not applied", id,
            originalId);
        remember(id, "", UsageTotals.ZERO);
        return;
      }
      Seen o = Seen.of(orig);
      String key = o.key();
      if (!key.startsWith(data.path("tenant").asText() + "/")) {
        LOG.warn("adjustment {} of tenant {} names another tenant's record: not applied", id, data.path("tenant").asText());
        remember(id, "", UsageTotals.ZERO);
        return;
      }
      String action = data.path("action").asText();
      if ("void".equals(action)) {
        if (!o.voided()) {
          seen.put(originalId, o.asVoided().bytes(form));
          add(key, UsageTotals.ZERO.minus(o.totals()));
        }
      } else if ("delta".equals(action)) {
        add(key, UsageTotals.delta(data.path("delta")));
      } else {
        LOG.warn("adjustment {} has action '{}' (void or delta): not applied", id, action);
      }
      remember(id, key, UsageTotals.ZERO);
    }

    /** Keeps the rollup key, the contribution and today for a record id ({@link Seen}), and lists it under today. */
    private void remember(String id, String key, UsageTotals totals) {
      String day = today();
      seen.put(id, new Seen(key, totals, day, false).bytes(form));
      index(day, id);
    }

    /**
     * Lists {@code id} under {@code day} in {@link #SEEN_BY_DAY}: in the entry being filled, or in a
     * new one ({@code day|id}) when there is none yet in this run, the day changed, the entry is full
     * or the id contains the separator.
     */
    private void index(String day, String id) {
      byte[] bytes = id.getBytes(java.nio.charset.StandardCharsets.UTF_8);
      boolean fits = entryKey != null && day.equals(entryDay) && entryIds < IDS_PER_ENTRY;
      if (!fits || contains(bytes, ID_SEPARATOR)) {
        entryKey = day + "|" + id;
        entryDay = day;
        entryIds = 1;
        entryLength = 0;
        seenByDay.put(entryKey, EMPTY);
        return;
      }
      if (entryLength + bytes.length + 1 > entryValue.length) {
        entryValue = java.util.Arrays.copyOf(entryValue, Math.max(entryValue.length * 2, entryLength + bytes.length + 1));
      }
      System.arraycopy(bytes, 0, entryValue, entryLength, bytes.length);
      entryLength += bytes.length;
      entryValue[entryLength++] = ID_SEPARATOR;
      entryIds++;
      seenByDay.put(entryKey, java.util.Arrays.copyOf(entryValue, entryLength));
    }

    private static boolean contains(byte[] bytes, byte b) {
      for (byte x : bytes) {
        if (x == b) return true;
      }
      return false;
    }

    /** The ids an entry of {@link #SEEN_BY_DAY} lists: the one in its key, then those in its value. */
    static List<String> ids(String entryKey, byte[] value) {
      List<String> ids = new ArrayList<>();
      ids.add(entryKey.substring(entryKey.indexOf('|') + 1));
      int from = 0;
      for (int i = 0; i < value.length; i++) {
        if (value[i] != ID_SEPARATOR) continue;
        ids.add(new String(value, from, i - from, java.nio.charset.StandardCharsets.UTF_8));
        from = i + 1;
      }
      return ids;
    }

    /** Today (UTC) by this thread's clock, as {@code yyyy-MM-dd}: made once a day. */
    private String today() {
      long d = Math.floorDiv(context.currentSystemTimeMs(), 86_400_000L);
      if (d != epochDay) {
        day = LocalDate.ofEpochDay(d).toString();
        epochDay = d;
      }
      return day;
    }

    private void add(String key, UsageTotals change) {
      byte[] cur = rollups.get(key);
      UsageTotals next = (cur == null ? UsageTotals.ZERO : totals(key, cur)).plus(change);
      byte[] bytes = next.bytes();
      rollups.put(key, bytes);
      read.put(key, new Read(bytes, next));
      if (pending.get(key) != pendingMark) pending.put(key, pendingMark);
      if (budgetEvents != null) addTenantHour(key, change);
    }

    /**
     * The totals in {@code bytes}, the value of {@code key} in {@link #ROLLUPS}: the ones this
     * processor wrote, when the store gives back the very array they were written as (its cache
     * does), else parsed. Parsing and writing each hour's totals for every record cost a twelfth of
     * the rollups thread; a store restored, or read from RocksDB, returns other arrays and is parsed.
     */
    private UsageTotals totals(String key, byte[] bytes) {
      Read r = read.get(key);
      return r != null && r.bytes() == bytes ? r.totals() : UsageTotals.parse(bytes);
    }

    /** Adds the change to the tenant's hour ({@code "tenant|hour"} = {@code "invocations gibSeconds"}). */
    private void addTenantHour(String rollupKey, UsageTotals change) {
      if (change.invocations() == 0 && change.gibSeconds().signum() == 0) return;
      String tenant = rollupKey.substring(0, rollupKey.indexOf('/'));
      String key = tenant + "|" + rollupKey.substring(rollupKey.lastIndexOf('/') + 1);
      byte[] cur = tenantHours.get(key);
      long invocations = change.invocations();
      BigDecimal gib = change.gibSeconds();
      if (cur != null) {
        TenantHour last = tenantRead.get(key);
        if (last != null && last.bytes() == cur) { // the store's cache gave back what this processor wrote
          invocations += last.invocations();
          gib = gib.add(last.gibSeconds());
        } else {
          String[] v = new String(cur, java.nio.charset.StandardCharsets.UTF_8).split(" ", 2);
          invocations += Long.parseLong(v[0]);
          gib = gib.add(new BigDecimal(v[1]));
        }
      }
      byte[] bytes = (invocations + " " + gib.toPlainString()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      tenantHours.put(key, bytes);
      tenantRead.put(key, new TenantHour(bytes, invocations, gib));
      touched.add(tenant);
    }

    /** Forgets ids first seen more than {@code dedupeDays} ago (their duplicates can no longer come). */
    private void purge(long now) {
      String cutoff = LocalDate.ofInstant(Instant.ofEpochMilli(now), ZoneOffset.UTC).minusDays(dedupeDays).toString();
      List<KeyValue<String, byte[]>> old = new ArrayList<>();
      try (KeyValueIterator<String, byte[]> it = seenByDay.range("", cutoff + "|")) {
        while (it.hasNext()) old.add(it.next());
      }
      int forgotten = 0;
      for (KeyValue<String, byte[]> kv : old) {
        seenByDay.delete(kv.key);
        for (String id : ids(kv.key, kv.value)) {
          seen.delete(id);
          forgotten++;
        }
      }
      if (entryKey != null && entryDay.compareTo(cutoff) < 0) entryKey = null; // deleted above
      if (forgotten > 0) LOG.info("usage dedupe: forgot {} ids first seen before {}", forgotten, cutoff);
      forgetOldPeriods(now);
    }

    /** Forgets tenant hours and announced thresholds older than any period a budget can still be in. */
    private void forgetOldPeriods(long now) {
      String cutoff = Instant.ofEpochMilli(now).minus(KEEP_PERIODS).truncatedTo(ChronoUnit.HOURS).toString();
      for (KeyValueStore<String, byte[]> store : List.of(tenantHours, alerts)) {
        List<String> old = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = store.all()) {
          while (it.hasNext()) {
            String key = it.next().key;
            if (key.startsWith("\u0000")) continue; // a marker
            // tenant|hour, or tenant|period|zone|gib|invocations|start|threshold: the hour or start is an ISO instant
            String[] parts = key.split("\\|");
            String when = parts[store == tenantHours ? 1 : parts.length - 2];
            if (when.compareTo(cutoff) < 0) old.add(key);
          }
        }
        old.forEach(store::delete);
      }
    }

    private static byte[] write(JsonNode n) {
      try {
        return JSON.writeValueAsBytes(n);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
