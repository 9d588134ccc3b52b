package dev.conveyor.engine.metering;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
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

  static byte[] of(int sizeHint, Writer w) {
    ByteArrayBuilder out = new ByteArrayBuilder(sizeHint);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      w.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // writing to memory
    }
    return out.toByteArray();
  }
}
