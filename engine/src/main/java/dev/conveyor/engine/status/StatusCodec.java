package dev.conveyor.engine.status;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The value of a {@code conveyor.status} record: the status, and the result once there is one. */
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

  private StatusCodec() {}

  public static byte[] encode(InvocationStatus status, StoredResult result) {
    try {
      return JSON.writeValueAsBytes(new Envelope(status, result));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Envelope decode(byte[] value) throws IOException {
    return JSON.readValue(value, Envelope.class);
  }

  /** From {@code length} bytes of {@code value} at {@code offset}. */
  public static Envelope decode(byte[] value, int offset, int length) throws IOException {
    return JSON.readValue(value, offset, length, Envelope.class);
  }
}
