package dev.conveyor.engine.queue;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationBuilder;
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
 */
public final class InvocationCodec {
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

  public static ProducerRecord<String, byte[]> encode(String topic, Invocation inv) {
    return encode(topic, null, inv);
  }

  /** With an explicit partition: the queue's is derived from the id (see InvocationIds). */
  public static ProducerRecord<String, byte[]> encode(String topic, Integer partition, Invocation inv) {
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

  /** The invocation as a retry of attempt {@code attempt}, due at {@code dueAt}, for {@code topic}. */
  public static ProducerRecord<String, byte[]> retry(String topic, Integer partition, Invocation inv, int attempt, long dueAt,
      long now) {
    ProducerRecord<String, byte[]> r = encode(topic, partition, inv);
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
