package dev.conveyor.engine.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

/**
 * The packed forms of internal records (a queued invocation's metadata, status records): varints,
 * length-prefixed UTF-8 strings, nullable numbers, written into a byte array that grows as needed
 * and read back with every length checked. A string is its UTF-8 length + 1 as a varint (0: null),
 * then its bytes; a nullable number a byte (0: null), then its zigzag form as a varint; an instant
 * its epoch milliseconds as such a number; a boolean one byte; bytes their length, then themselves.
 */
public final class Packed {
  private Packed() {}

  /** Appends to a byte array that grows as needed. */
  public static final class Writer {
    private byte[] out;
    private int at;

    public Writer(int size) {
      out = new byte[Math.max(16, size)];
    }

    public Writer put(byte b) {
      room(1);
      out[at++] = b;
      return this;
    }

    public Writer string(String s) {
      if (s == null) return varint(0);
      int n = s.length();
      room(10 + n);
      int lengthAt = at;
      at += 1; // a guess at the length's size: one byte, for up to 126 bytes
      for (int i = 0; i < n; i++) {
        char c = s.charAt(i);
        if (c >= 0x80) { // not ASCII: encode it whole, as its length in bytes is not known yet
          at = lengthAt;
          return bytes(s.getBytes(StandardCharsets.UTF_8), 1);
        }
        out[at++] = (byte) c;
      }
      if (n + 1 < 0x80) {
        out[lengthAt] = (byte) (n + 1);
        return this;
      }
      byte[] text = Arrays.copyOfRange(out, lengthAt + 1, at); // the length takes more bytes: move the text
      at = lengthAt;
      return bytes(text, 1);
    }

    /** {@code b}'s length as a varint, then its bytes. */
    public Writer bytes(byte[] b) {
      return bytes(b, 0);
    }

    private Writer bytes(byte[] b, int lengthOffset) {
      varint(b.length + (long) lengthOffset);
      room(b.length);
      System.arraycopy(b, 0, out, at, b.length);
      at += b.length;
      return this;
    }

    public Writer varint(long v) {
      room(10);
      while ((v & ~0x7FL) != 0) {
        out[at++] = (byte) ((v & 0x7F) | 0x80);
        v >>>= 7;
      }
      out[at++] = (byte) v;
      return this;
    }

    public Writer number(Number v) {
      if (v == null) return bool(false);
      long x = v.longValue();
      return bool(true).varint((x << 1) ^ (x >> 63));
    }

    public Writer instant(Instant t) {
      return number(t == null ? null : t.toEpochMilli());
    }

    public Writer bool(boolean b) {
      return put((byte) (b ? 1 : 0));
    }

    public byte[] toByteArray() {
      return Arrays.copyOf(out, at);
    }

    private void room(int n) {
      if (at + n > out.length) out = Arrays.copyOf(out, Math.max(out.length * 2, at + n));
    }
  }

  /**
   * Reads what a {@link Writer} wrote, from {@code at} up to {@code end}. Reading past the end, or a
   * varint longer than 64 bits, throws {@link IndexOutOfBoundsException}: each codec turns that into
   * its own "not a record" error.
   */
  public static final class Reader {
    private final byte[] in;
    private final int end;
    private int at;

    public Reader(byte[] in, int at, int end) {
      this.in = in;
      this.at = at;
      this.end = end;
    }

    public byte next() {
      if (at >= end) throw new IndexOutOfBoundsException("past the end");
      return in[at++];
    }

    public String string() {
      long n = varint();
      if (n == 0) return null;
      int len = length(n - 1);
      String s = new String(in, at, len, StandardCharsets.UTF_8);
      at += len;
      return s;
    }

    public byte[] bytes() {
      int len = length(varint());
      byte[] b = Arrays.copyOfRange(in, at, at + len);
      at += len;
      return b;
    }

    private int length(long n) {
      if (n < 0 || n > end - at) throw new IndexOutOfBoundsException("a length past the end");
      return (int) n;
    }

    public long varint() {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        byte b = next();
        v |= (long) (b & 0x7F) << shift;
        if (b >= 0) return v;
      }
      throw new IndexOutOfBoundsException("a varint longer than 64 bits");
    }

    public Long number() {
      if (!bool()) return null;
      long z = varint();
      return (z >>> 1) ^ -(z & 1);
    }

    public Instant instant() {
      Long ms = number();
      return ms == null ? null : Instant.ofEpochMilli(ms);
    }

    public boolean bool() {
      return next() != 0;
    }
  }
}
