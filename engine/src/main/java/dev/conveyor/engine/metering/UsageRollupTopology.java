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
 *       attempt re-emitted after a crash) is skipped.
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
  /** A key of {@link #PENDING} that no rollup has: present once the rollups made before it existed were re-sent. */
  static final String RESENT = "\u0000resent";
  private static final byte[] EMPTY = new byte[0];
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

  public static Topology build(String usageTopic, String rollupTopic, int dedupeDays) {
    StreamsBuilder b = new StreamsBuilder();
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SEEN), Serdes.String(), Serdes.ByteArray()));
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SEEN_BY_DAY), Serdes.String(), Serdes.ByteArray()));
    // Cached, like the pending hours: an hour's totals change with every record, but reach the
    // changelog once per commit.
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(ROLLUPS), Serdes.String(), Serdes.ByteArray())
        .withCachingEnabled());
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PENDING), Serdes.String(), Serdes.ByteArray())
        .withCachingEnabled());
    b.stream(usageTopic, Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("usage"))
        .process(() -> new Rollup(dedupeDays), Named.as("rollup"), SEEN, SEEN_BY_DAY, ROLLUPS, PENDING)
        .to(rollupTopic, Produced.with(Serdes.String(), Serdes.ByteArray()).withName("rollups"));
    return b.build();
  }

  /** The rollup key of a record: {@code tenant/namespace/function/hour}. */
  public static String key(String tenant, String namespace, String function, Instant time) {
    return tenant + "/" + namespace + "/" + function + "/" + time.truncatedTo(ChronoUnit.HOURS);
  }

  static final class Rollup implements Processor<String, byte[], String, byte[]> {
    private final int dedupeDays;
    private ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, byte[]> seen;
    private KeyValueStore<String, byte[]> seenByDay;
    private KeyValueStore<String, byte[]> rollups;
    private KeyValueStore<String, byte[]> pending;
    private boolean resendDue;

    Rollup(int dedupeDays) {
      this.dedupeDays = dedupeDays;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      this.context = context;
      this.seen = context.getStateStore(SEEN);
      this.seenByDay = context.getStateStore(SEEN_BY_DAY);
      this.rollups = context.getStateStore(ROLLUPS);
      this.pending = context.getStateStore(PENDING);
      context.schedule(Duration.ofMinutes(10), PunctuationType.WALL_CLOCK_TIME, this::purge);
      context.schedule(Duration.ofSeconds(1), PunctuationType.WALL_CLOCK_TIME, this::emit);
      resendDue = pending.get(RESENT) == null; // sent at the first punctuation (init may not forward)
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
          context.forward(new Record<>(kv.key, kv.value, now));
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
          if (totals != null && !all) context.forward(new Record<>(key, totals, now));
          sent.add(key);
        }
      }
      for (String key : sent) pending.delete(key);
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
      Instant time = Instant.parse(ce.time());
      String key = key(d.tenant(), d.namespace(), d.function(), time);
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
      ObjectNode o = read(orig);
      String key = o.path("key").asText();
      if (!key.startsWith(data.path("tenant").asText() + "/")) {
        LOG.warn("adjustment {} of tenant {} names another tenant's record: not applied", id, data.path("tenant").asText());
        remember(id, "", UsageTotals.ZERO);
        return;
      }
      String action = data.path("action").asText();
      if ("void".equals(action)) {
        if (!o.path("voided").asBoolean()) {
          o.put("voided", true);
          seen.put(originalId, write(o));
          add(key, UsageTotals.ZERO.minus(UsageTotals.fromJson(o.path("totals"))));
        }
      } else if ("delta".equals(action)) {
        add(key, UsageTotals.delta(data.path("delta")));
      } else {
        LOG.warn("adjustment {} has action '{}' (void or delta): not applied", id, action);
      }
      remember(id, key, UsageTotals.ZERO);
    }

    /** Keeps {@code {"key", "totals", "day"}} for a record id (written field by field: one per usage record). */
    private void remember(String id, String key, UsageTotals totals) {
      String day = LocalDate.ofInstant(Instant.ofEpochMilli(context.currentSystemTimeMs()), ZoneOffset.UTC).toString();
      seen.put(id, JsonBytes.of(320, g -> {
        g.writeStartObject();
        g.writeStringField("key", key);
        g.writeFieldName("totals");
        totals.write(g);
        g.writeStringField("day", day);
        g.writeEndObject();
      }));
      seenByDay.put(day + "|" + id, new byte[0]);
    }

    private void add(String key, UsageTotals change) {
      byte[] cur = rollups.get(key);
      UsageTotals next = (cur == null ? UsageTotals.ZERO : UsageTotals.parse(cur)).plus(change);
      rollups.put(key, next.bytes());
      pending.put(key, EMPTY);
    }

    /** Forgets ids first seen more than {@code dedupeDays} ago (their duplicates can no longer come). */
    private void purge(long now) {
      String cutoff = LocalDate.ofInstant(Instant.ofEpochMilli(now), ZoneOffset.UTC).minusDays(dedupeDays).toString();
      List<KeyValue<String, byte[]>> old = new ArrayList<>();
      try (KeyValueIterator<String, byte[]> it = seenByDay.range("", cutoff + "|")) {
        while (it.hasNext()) old.add(it.next());
      }
      for (KeyValue<String, byte[]> kv : old) {
        seenByDay.delete(kv.key);
        seen.delete(kv.key.substring(kv.key.indexOf('|') + 1));
      }
      if (!old.isEmpty()) LOG.info("usage dedupe: forgot {} ids first seen before {}", old.size(), cutoff);
    }

    private static ObjectNode read(byte[] b) {
      try {
        return (ObjectNode) JSON.readTree(b);
      } catch (IOException e) {
        throw new IllegalStateException(e);
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
