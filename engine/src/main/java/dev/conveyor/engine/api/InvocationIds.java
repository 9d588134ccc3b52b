package dev.conveyor.engine.api;

import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.kafka.common.utils.Utils;

/**
 * Invocation ids are UUIDv7 (RFC 9562): the first 48 bits are the accept time in milliseconds.
 * With the queue partition derived from the id, any replica can find a queued invocation it has
 * never seen (seek to the time in that partition) instead of reading every invocation.
 *
 * <p>Two marks ride in the random bits. The {@code rand_a} field carries the minting replica's
 * tag ({@link #tag}). The first bit of {@code rand_b} marks an id that may be <em>fenced</em>
 * ({@link #fenceable}): an async API accept without an idempotency key, the one kind of id whose
 * single write may have an unknown outcome and that nothing else ever writes again, so a fence
 * record on its partition may settle it as never stored (see {@code StoreOutcomes}).
 *
 * <p>Ids of requests with an idempotency key are not random: {@link #derived} makes them a
 * function of (tenant, namespace, function, key, window), UUIDv8, so every retry of the request,
 * on any replica, stores the same id, and the dispatcher runs an id once.
 */
public final class InvocationIds {
  private InvocationIds() {}

  public static String next(long acceptedAtMillis) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = (acceptedAtMillis << 16) | 0x7000L | (r.nextLong() & 0x0fffL);
    long lo = (r.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
    return new UUID(hi, lo).toString();
  }

  /**
   * An id whose queue partition ({@link #partition}) is {@code partition}, with {@code tag} (12 bits)
   * in its {@code rand_a} field. Random bits are drawn until the id hashes there, on average
   * {@code partitions} draws; the id stays a random UUIDv7, and any replica still finds its partition
   * from the id alone. The tag marks the replica that minted it, so that replica can tell its own ids
   * from a terminal status alone (see {@code Backlog}). A draw writes the id's text into one array
   * and hashes it there (no {@code UUID} or string per draw: the accept path mints one id per request).
   */
  public static String next(long acceptedAtMillis, int partition, int partitions, int tag) {
    return next(acceptedAtMillis, partition, partitions, tag, false);
  }

  /** The same, marked {@link #fenceable} or not. */
  public static String next(long acceptedAtMillis, int partition, int partitions, int tag, boolean fenceable) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = (acceptedAtMillis << 16) | 0x7000L | (tag & 0x0fffL);
    long mark = fenceable ? FENCEABLE : 0;
    // UUID.toString's form: 8-4-4-4-12 lowercase hex digits, the high long in the first three groups
    byte[] text = new byte[36];
    hex(hi >>> 32, 8, text, 0);
    text[8] = '-';
    hex(hi >>> 16, 4, text, 9);
    text[13] = '-';
    hex(hi, 4, text, 14);
    text[18] = '-';
    text[23] = '-';
    while (true) {
      long lo = (r.nextLong() & 0x1fffffffffffffffL) | 0x8000000000000000L | mark;
      hex(lo >>> 48, 4, text, 19);
      hex(lo, 12, text, 24);
      if (Utils.toPositive(Utils.murmur2(text)) % partitions == partition) return new String(text, StandardCharsets.ISO_8859_1);
    }
  }

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  /** The low {@code digits} hex digits of {@code v}, most significant first, at {@code at}. */
  private static void hex(long v, int digits, byte[] out, int at) {
    for (int i = at + digits - 1; i >= at; i--) {
      out[i] = HEX[(int) (v & 0xf)];
      v >>>= 4;
    }
  }

  /** The first bit of {@code rand_b}, after the variant: set on ids that may be fenced. */
  private static final long FENCEABLE = 0x2000000000000000L;

  /** Whether {@code id} is an async accept's random id, which a fence may settle as never stored. */
  public static boolean fenceable(String id) {
    try {
      UUID u = UUID.fromString(id);
      return u.version() == 7 && u.variant() == 2 && (u.getLeastSignificantBits() & FENCEABLE) != 0;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * The id of a request with an idempotency key: UUIDv8 (RFC 9562, vendor-defined) from SHA-256 of
   * (tenant, namespace, function, key, {@code window}: the number of the idempotency window the
   * request falls in), with a counter drawn up from 0 until the id lands in {@code partition}. The
   * same on every replica and for every retry, so a retry after any answer (an unknown outcome
   * included) stores the same invocation again and the dispatcher runs it once. It carries no
   * accept time: such invocations are found through their status, which their accept stores.
   */
  public static String derived(String tenant, String namespace, String function, String key, long window, int partition,
      int partitions) {
    return derived(tenant, namespace, function, key, window, p -> p == partition, partitions);
  }

  /** The same, landing in the first of the partitions {@code accept} takes (one of a tenant's lanes). */
  public static String derived(String tenant, String namespace, String function, String key, long window,
      java.util.function.IntPredicate accept, int partitions) {
    java.security.MessageDigest sha;
    try {
      sha = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
    byte[] base = (tenant + '\u0000' + namespace + '\u0000' + function + '\u0000' + key + '\u0000' + window + '\u0000')
        .getBytes(StandardCharsets.UTF_8);
    for (int counter = 0; ; counter++) {
      sha.reset();
      sha.update(base);
      byte[] d = sha.digest(Integer.toString(counter).getBytes(StandardCharsets.US_ASCII));
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(d);
      long hi = (b.getLong() & ~0xf000L) | 0x8000L;
      long lo = (b.getLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
      String id = new UUID(hi, lo).toString();
      if (accept.test(partition(id, partitions))) return id;
    }
  }

  /**
   * {@code id} as a UUID if it is one in the canonical lowercase form every minted id has (the
   * strings for which {@code UUID.fromString(id).toString()} gives {@code id} back), else null.
   * {@code UUID.fromString} alone also takes upper case and short groups, which name other ids.
   */
  public static UUID uuid(String id) {
    if (id.length() != 36) return null;
    long hi = 0;
    long lo = 0;
    for (int i = 0; i < 36; i++) {
      char c = id.charAt(i);
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (c != '-') return null;
        continue;
      }
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return null;
      if (i < 19) hi = hi << 4 | d;
      else lo = lo << 4 | d;
    }
    return new UUID(hi, lo);
  }

  /** Whether {@code id} was {@link #derived} from an idempotency key. */
  public static boolean derived(String id) {
    try {
      UUID u = UUID.fromString(id);
      return u.version() == 8 && u.variant() == 2;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The 12-bit tag of an id minted with one (any id's {@code rand_a} bits otherwise); -1 if not a UUIDv7. */
  public static int tag(String id) {
    try {
      UUID u = UUID.fromString(id);
      return u.version() == 7 ? (int) (u.getMostSignificantBits() & 0x0fff) : -1;
    } catch (IllegalArgumentException e) {
      return -1;
    }
  }

  /** The accept time an id carries, if it is one of ours. */
  public static OptionalLong millis(String id) {
    try {
      UUID u = UUID.fromString(id);
      if (u.version() != 7 || u.variant() != 2) return OptionalLong.empty();
      return OptionalLong.of(u.getMostSignificantBits() >>> 16);
    } catch (IllegalArgumentException e) {
      return OptionalLong.empty();
    }
  }

  /** The queue partition of an id: Kafka's own key hash (murmur2), chosen explicitly on send. */
  public static int partition(String id, int partitions) {
    return Utils.toPositive(Utils.murmur2(id.getBytes(StandardCharsets.UTF_8))) % partitions;
  }
}
