package dev.conveyor.engine.status;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.conveyor.engine.api.AttemptRecord;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.InvocationStatusBuilder;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.config.ConveyorConfig.StatusRecords;
import java.io.IOException;
import java.io.UncheckedIOException;
import dev.conveyor.engine.kafka.Packed;
import java.util.ArrayList;
import java.util.List;

/**
 * The value of a {@code conveyor.status} record: the status, and the result once there is one. Two
 * forms ({@code kafka.statusRecords}), both always read: JSON, which every version reads, and
 * {@code packed}, a binary form that costs about a third as much to write and an eighth to a
 * tenth as much to read.
 */
public final class StatusCodec {
  /** What one status record holds. */
  public record Envelope(InvocationStatus status, StoredResult result) {}

  // Instants as epoch milliseconds: formatting and parsing ISO-8601 text was a third of the codec's
  // cost. Records written as text by earlier versions still decode (the deserializer takes both).
  private static final ObjectMapper JSON = new ObjectMapper()
      .registerModule(new JavaTimeModule())
      .enable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .disable(SerializationFeature.WRITE_DATE_TIMESTAMPS_AS_NANOSECONDS)
      .disable(DeserializationFeature.READ_DATE_TIMESTAMPS_AS_NANOSECONDS)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .setSerializationInclusion(JsonInclude.Include.NON_NULL);

  /**
   * The first byte of a packed record. A JSON record starts with its object's brace, so one byte tells
   * the forms apart.
   */
  static final byte PACKED_VERSION = 1;

  private static final InvocationState[] STATES = InvocationState.values();

  private StatusCodec() {}

  /** As JSON. */
  public static byte[] encode(InvocationStatus status, StoredResult result) {
    return encode(StatusRecords.json, status, result);
  }

  /** In {@code form} ({@code kafka.statusRecords}). */
  public static byte[] encode(StatusRecords form, InvocationStatus status, StoredResult result) {
    if (form == StatusRecords.packed) return pack(status, result);
    try {
      return JSON.writeValueAsBytes(new Envelope(status, result));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Envelope decode(byte[] value) throws IOException {
    return decode(value, 0, value.length);
  }

  /** From {@code length} bytes of {@code value} at {@code offset}, in either form. */
  public static Envelope decode(byte[] value, int offset, int length) throws IOException {
    if (length > 0 && value[offset] == PACKED_VERSION) return unpack(value, offset, length);
    // JSON starts with its object's brace (or white space); another control character is the first
    // byte of a packed form this version does not know.
    if (length > 0 && value[offset] >= 0 && value[offset] < 0x20 && value[offset] != '\t' && value[offset] != '\n'
        && value[offset] != '\r') {
      throw new IOException("a status record of a later version (packed form " + value[offset] + ")");
    }
    return JSON.readValue(value, offset, length, Envelope.class);
  }

  /**
   * The packed form ({@link Packed}): the version byte, then the status's fields in their declared
   * order, then the result. Instants are epoch milliseconds (a status keeps no finer time); the state
   * is its position in {@link InvocationState} (states are only ever added at the end); the history
   * its length and then each attempt's fields; the result a boolean and then its status, content type
   * and body. A reader ignores what follows the fields it knows: a later version may append fields.
   * A status without a history (JSON records of early versions) reads back with an empty one.
   */
  static byte[] pack(InvocationStatus s, StoredResult result) {
    Packed.Writer p = new Packed.Writer(160 + (result == null ? 0 : result.body().length));
    p.put(PACKED_VERSION);
    p.string(s.id()).string(s.tenant()).string(s.namespace()).string(s.function());
    p.varint(s.status().ordinal()).varint(s.version()).varint(s.attempts());
    p.instant(s.acceptedAt()).instant(s.startedAt()).instant(s.finishedAt());
    p.number(s.durationMs()).number(s.queueWaitMs()).bool(s.coldStart()).number(s.httpStatus());
    p.string(s.lastError()).string(s.traceId()).string(s.idempotencyKey());
    List<AttemptRecord> history = s.history() == null ? List.of() : s.history();
    p.varint(history.size());
    for (AttemptRecord a : history) {
      p.varint(a.attempt()).instant(a.startedAt()).number(a.durationMs()).number(a.httpStatus()).string(a.error())
          .bool(a.coldStart()).number(a.coldStartMs());
    }
    p.instant(s.parkedUntil()).varint(s.platformDelays()).instant(s.coldSince()).string(s.trigger()).string(s.mode());
    if (result == null) {
      p.bool(false);
    } else {
      p.bool(true).varint(result.httpStatus()).string(result.contentType()).bytes(result.body());
    }
    return p.toByteArray();
  }

  private static Envelope unpack(byte[] in, int offset, int length) throws IOException {
    Packed.Reader u = new Packed.Reader(in, offset + 1, offset + length);
    try {
      String id = u.string(), tenant = u.string(), ns = u.string(), fn = u.string();
      long state = u.varint();
      if (state < 0 || state >= STATES.length) throw new IOException("a status record of a later version (state " + state + ")");
      var b = InvocationStatusBuilder.builder().id(id).tenant(tenant).namespace(ns).function(fn).status(STATES[(int) state])
          .version(u.varint()).attempts(Math.toIntExact(u.varint())).acceptedAt(u.instant()).startedAt(u.instant()).finishedAt(u.instant())
          .durationMs(u.number()).queueWaitMs(u.number()).coldStart(u.bool()).httpStatus(integer(u.number()))
          .lastError(u.string()).traceId(u.string()).idempotencyKey(u.string());
      long n = u.varint();
      if (n < 0 || n > length) throw new IOException("not a status record (history of " + n + ")");
      List<AttemptRecord> history = new ArrayList<>((int) n);
      for (int i = 0; i < n; i++) {
        history.add(new AttemptRecord(Math.toIntExact(u.varint()), u.instant(), u.number(), integer(u.number()), u.string(), u.bool(),
            u.number()));
      }
      InvocationStatus status = b.history(List.copyOf(history)).parkedUntil(u.instant()).platformDelays(Math.toIntExact(u.varint()))
          .coldSince(u.instant()).trigger(u.string()).mode(u.string()).build();
      StoredResult result = null;
      if (u.bool()) {
        int http = Math.toIntExact(u.varint());
        String ct = u.string();
        result = new StoredResult(http, ct, u.bytes());
      }
      return new Envelope(status, result);
    } catch (IndexOutOfBoundsException | ArithmeticException e) {
      throw new IOException("not a status record (truncated, or a number out of range)");
    }
  }

  private static Integer integer(Long n) {
    return n == null ? null : Math.toIntExact(n);
  }
}
