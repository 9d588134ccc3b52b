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
   * {@code partitions} draws of well under a microsecond each; the id stays a random UUIDv7, and any
   * replica still finds its partition from the id alone. The tag marks the replica that minted it,
   * so that replica can tell its own ids from a terminal status alone (see {@code Backlog}).
   */
  public static String next(long acceptedAtMillis, int partition, int partitions, int tag) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = (acceptedAtMillis << 16) | 0x7000L | (tag & 0x0fffL);
    while (true) {
      long lo = (r.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
      String id = new UUID(hi, lo).toString();
      if (partition(id, partitions) == partition) return id;
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
