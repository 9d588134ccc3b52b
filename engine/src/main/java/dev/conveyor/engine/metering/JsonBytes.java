package dev.conveyor.engine.metering;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.BufferRecycler;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * JSON written field by field with Jackson's streaming generator, into a byte array: the metering
 * records written once per attempt (usage records, rollup totals, dedupe entries) build no tree.
 */
final class JsonBytes {
  private static final JsonFactory FACTORY = new JsonFactory();

  /** What writes one JSON value. */
  interface Writer {
    void write(JsonGenerator g) throws IOException;
  }

  private JsonBytes() {}

  /**
   * The bytes {@code w} writes. The generator writes into a buffer of Jackson's recycler pool and
   * hands its bytes on in one piece when it closes; the builder's first block comes from the same pool
   * (as {@code ObjectMapper.writeValueAsBytes} does it), so the one array allocated is the result.
   */
  static byte[] of(Writer w) {
    BufferRecycler recycler = FACTORY._getBufferRecycler();
    try {
      ByteArrayBuilder out = new ByteArrayBuilder(recycler);
      try (JsonGenerator g = FACTORY.createGenerator(out)) {
        w.write(g);
      }
      return out.getClearAndRelease();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // writing to memory
    } finally {
      recycler.releaseToPool();
    }
  }
}
