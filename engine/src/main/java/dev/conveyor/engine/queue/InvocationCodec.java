package dev.conveyor.engine.queue;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationBuilder;
import dev.conveyor.engine.config.ConveyorConfig.QueueHeaders;
import dev.conveyor.engine.kafka.Packed;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * An invocation on {@code conveyor.invocations}: the value is the payload exactly as received (no
 * re-encoding, no base64), everything else travels in record headers. Key = invocation id.
 *
 * <p>On the queue and the retry tiers the metadata is one binary header, {@code conveyor-invocation}
 * ({@link #pack}), beside {@code traceparent} (kept apart so that Kafka tracing tools read it), when
 * {@code kafka.queueHeaders} is {@code packed}; by default a header per field ({@link #readable}),
 * which versions before the packed header read too, so a rolling upgrade loses nothing. Why pack: the
 * producer measures every header name several times and encodes it once per record, and the consumer
 * makes a string of every name, so a header per field costs more than the payload (the
 * {@code QueueRecords} microbenchmark: appended 806 ns a record with a header per field, 461 packed;
 * read and decoded 650 and 246 ns). Dead letters, which people read, get one readable header per
 * field ({@link #readable}); {@link #decode} reads both, and so reads records of either kind already
 * on a topic.
 */
public final class InvocationCodec {
  /** The packed metadata of a queued invocation ({@link #pack}). */
  static final String PACKED = "conveyor-invocation";
  private static final byte PACKED_VERSION = 1;
  static final String ID = "conveyor-id";
  static final String TENANT = "conveyor-tenant";
  static final String NAMESPACE = "conveyor-namespace";
  static final String FUNCTION = "conveyor-function";
  static final String CONTENT_TYPE = "content-type";
  static final String ACCEPTED_AT = "conveyor-accepted-at";
  static final String IDEMPOTENCY_KEY = "conveyor-idempotency-key";
  static final String QUERY = "conveyor-query";
  static final String TRACEPARENT = "traceparent";
  static final String CALLBACK_URL = "conveyor-callback-url";
  static final String TRIGGER = "conveyor-trigger";
  static final String MAX_ATTEMPTS = "conveyor-max-attempts";
  /** On a retried invocation: the attempt it is for, and when it is due (epoch ms). */
  public static final String ATTEMPT = "conveyor-attempt";
  public static final String DUE_AT = "conveyor-due-at";
  /** On a record parked on a retry tier that is not an invocation: the topic it goes back to. */
  public static final String RETURN_TO = "conveyor-return-to";
  /**
   * Marks a fence: not an invocation, but the statement that no copy of the invocation with this
   * key (its id) that comes after it on the partition may run. Its value names the fencing tenant.
   */
  public static final String FENCE = "conveyor-fence";
  /** Caller headers passed to the function (ce-*, tracestate) carry this prefix. */
  static final String PASS = "pass-";

  private InvocationCodec() {}

  /**
   * In {@code headers}' form (every caller names it: {@code kafka.queueHeaders}), with an explicit
   * partition (the queue's is derived from the id, see InvocationIds) or none: one packed header
   * beside {@code traceparent}, or {@link #readable}'s header per field.
   */
  public static ProducerRecord<String, byte[]> encode(String topic, Integer partition, Invocation inv, QueueHeaders headers) {
    if (headers == QueueHeaders.perField) return perField(topic, partition, inv);
    Headers h = new RecordHeaders();
    h.add(PACKED, pack(inv));
    put(h, TRACEPARENT, inv.traceparent());
    return new ProducerRecord<>(topic, partition, inv.acceptedAt().toEpochMilli(), inv.id(), inv.payload(), h);
  }

  /**
   * One header per field, named as they are documented: for records people read (dead letters), and
   * the queue's default form, which every version reads.
   */
  public static ProducerRecord<String, byte[]> readable(String topic, Invocation inv) {
    return perField(topic, null, inv);
  }

  private static ProducerRecord<String, byte[]> perField(String topic, Integer partition, Invocation inv) {
    Headers h = new RecordHeaders();
    put(h, ID, inv.id());
    put(h, TENANT, inv.tenant());
    put(h, NAMESPACE, inv.namespace());
    put(h, FUNCTION, inv.function());
    put(h, CONTENT_TYPE, inv.contentType());
    put(h, ACCEPTED_AT, Long.toString(inv.acceptedAt().toEpochMilli()));
    put(h, IDEMPOTENCY_KEY, inv.idempotencyKey());
    put(h, QUERY, inv.query());
    put(h, TRACEPARENT, inv.traceparent());
    put(h, CALLBACK_URL, inv.callbackUrl());
    put(h, TRIGGER, inv.trigger());
    put(h, MAX_ATTEMPTS, inv.maxAttempts() == null ? null : inv.maxAttempts().toString());
    inv.passHeaders().forEach((k, v) -> put(h, PASS + k, v));
    return new ProducerRecord<>(topic, partition, inv.acceptedAt().toEpochMilli(), inv.id(), inv.payload(), h);
  }

  /** @throws IllegalArgumentException when a required header is missing (not a Conveyor record) */
  public static Invocation decode(ConsumerRecord<String, byte[]> r) {
    return decode(r.headers(), r.value());
  }

  /** The invocation from headers alone (payload empty): what the status reader needs. */
  public static Invocation decode(Headers headers, byte[] value) {
    Header packed = headers.lastHeader(PACKED);
    if (packed != null) {
      Header tp = headers.lastHeader(TRACEPARENT);
      return unpack(packed.value(), tp == null || tp.value() == null ? null : new String(tp.value(), StandardCharsets.UTF_8),
          value == null ? new byte[0] : value);
    }
    String id = null, tenant = null, ns = null, fn = null, ct = null, idem = null, query = null, tp = null, callback = null,
        trigger = null;
    Integer maxAttempts = null;
    long at = -1;
    Map<String, String> pass = new LinkedHashMap<>();
    for (Header hd : headers) {
      String k = hd.key();
      String v = hd.value() == null ? null : new String(hd.value(), StandardCharsets.UTF_8);
      switch (k) {
        case ID -> id = v;
        case TENANT -> tenant = v;
        case NAMESPACE -> ns = v;
        case FUNCTION -> fn = v;
        case CONTENT_TYPE -> ct = v;
        case ACCEPTED_AT -> at = Long.parseLong(v);
        case IDEMPOTENCY_KEY -> idem = v;
        case QUERY -> query = v;
        case TRACEPARENT -> tp = v;
        case CALLBACK_URL -> callback = v;
        case TRIGGER -> trigger = v;
        case MAX_ATTEMPTS -> maxAttempts = Integer.valueOf(v);
        case ATTEMPT, DUE_AT, RETURN_TO -> { }
        default -> {
          if (k.startsWith(PASS)) pass.put(k.substring(PASS.length()), v);
        }
      }
    }
    if (id == null || tenant == null || ns == null || fn == null || at < 0) {
      throw new IllegalArgumentException("not an invocation record");
    }
    byte[] payload = value == null ? new byte[0] : value;
    return InvocationBuilder.builder().id(id).tenant(tenant).namespace(ns).function(fn).contentType(ct).payload(payload)
        .query(query).passHeaders(pass).acceptedAt(Instant.ofEpochMilli(at)).idempotencyKey(idem).traceparent(tp)
        .callbackUrl(callback).trigger(trigger).maxAttempts(maxAttempts).build();
  }

  /** The invocation as a retry of attempt {@code attempt}, due at {@code dueAt}, for {@code topic}, in {@code headers}' form. */
  public static ProducerRecord<String, byte[]> retry(String topic, Integer partition, Invocation inv, int attempt, long dueAt,
      long now, QueueHeaders headers) {
    ProducerRecord<String, byte[]> r = encode(topic, partition, inv, headers);
    put(r.headers(), ATTEMPT, Integer.toString(attempt));
    put(r.headers(), DUE_AT, Long.toString(dueAt));
    return new ProducerRecord<>(topic, partition, now, r.key(), r.value(), r.headers());
  }

  /** A record forwarded as it is (retry tier to retry tier or to the queue), stamped {@code now}. */
  public static ProducerRecord<String, byte[]> forward(ConsumerRecord<String, byte[]> r, String topic, Integer partition, long now) {
    return new ProducerRecord<>(topic, partition, now, r.key(), r.value(), r.headers());
  }

  /**
   * A fence for {@code id} on its queue partition: a partition is one ordered log, so a copy of the
   * invocation is stored if and only if it comes before the first fence for its id. Empty value;
   * stamped {@code now} so that lookups seeking by time find it.
   */
  public static ProducerRecord<String, byte[]> fence(String topic, int partition, String id, String tenant, long now) {
    Headers h = new RecordHeaders();
    put(h, FENCE, tenant);
    return new ProducerRecord<>(topic, partition, now, id, new byte[0], h);
  }

  /** Whether a queue record is a {@link #fence}. */
  public static boolean fence(Headers h) {
    return h.lastHeader(FENCE) != null;
  }

  /**
   * The metadata as one header value: a version byte, then id, tenant, namespace, function,
   * content type, idempotency key, query, callback URL, trigger (each a string: its UTF-8 length + 1
   * as a varint, 0 for none, then its bytes), the accept time (epoch ms, varint), max attempts
   * (varint, 0 for none, else n + 1), and the passed headers (a varint count, then name and value
   * strings).
   */
  static byte[] pack(Invocation inv) {
    Packed.Writer p = new Packed.Writer(160);
    p.put(PACKED_VERSION);
    p.string(inv.id()).string(inv.tenant()).string(inv.namespace()).string(inv.function()).string(inv.contentType())
        .string(inv.idempotencyKey()).string(inv.query()).string(inv.callbackUrl()).string(inv.trigger())
        .varint(inv.acceptedAt().toEpochMilli()).varint(inv.maxAttempts() == null ? 0 : inv.maxAttempts() + 1L)
        .varint(passed(inv.passHeaders()));
    // a header without a value is not passed on (as in the per-field form, which drops it)
    inv.passHeaders().forEach((k, v) -> {
      if (v != null) p.string(k).string(v);
    });
    return p.toByteArray();
  }

  /** The headers {@link #pack} writes: those with a value (a loop, not a stream: it runs on every accept). */
  private static int passed(Map<String, String> headers) {
    int n = 0;
    for (String v : headers.values()) if (v != null) n++;
    return n;
  }

  private static Invocation unpack(byte[] b, String traceparent, byte[] payload) {
    if (b == null || b.length == 0 || b[0] != PACKED_VERSION) {
      throw new IllegalArgumentException("not an invocation record (unknown metadata version)");
    }
    Packed.Reader u = new Packed.Reader(b, 1, b.length); // past the version
    try {
      String id = u.string(), tenant = u.string(), ns = u.string(), fn = u.string(), ct = u.string(), idem = u.string(),
          query = u.string(), callback = u.string(), trigger = u.string();
      long at = u.varint();
      long max = u.varint();
      int n = (int) u.varint();
      Map<String, String> pass = n == 0 ? Map.of() : new LinkedHashMap<>();
      for (int i = 0; i < n; i++) pass.put(u.string(), u.string());
      if (id == null || tenant == null || ns == null || fn == null) throw new IllegalArgumentException("not an invocation record");
      return InvocationBuilder.builder().id(id).tenant(tenant).namespace(ns).function(fn).contentType(ct).payload(payload)
          .query(query).passHeaders(pass).acceptedAt(Instant.ofEpochMilli(at)).idempotencyKey(idem).traceparent(traceparent)
          .callbackUrl(callback).trigger(trigger).maxAttempts(max == 0 ? null : (int) (max - 1)).build();
    } catch (IndexOutOfBoundsException e) {
      throw new IllegalArgumentException("not an invocation record (truncated or malformed metadata)");
    }
  }

  /** The number in a header, or {@code dflt} when absent. */
  public static long number(Headers h, String key, long dflt) {
    Header hd = h.lastHeader(key);
    if (hd == null || hd.value() == null) return dflt;
    try {
      return Long.parseLong(new String(hd.value(), StandardCharsets.UTF_8));
    } catch (NumberFormatException e) {
      return dflt;
    }
  }

  private static void put(Headers h, String k, String v) {
    if (v != null) h.add(k, v.getBytes(StandardCharsets.UTF_8));
  }
}
