package dev.conveyor.engine.kafka;

import java.nio.ByteBuffer;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

/** A value deserializer that keeps nothing: for readers that need a record's key and headers only. */
public final class HeadersOnly implements Deserializer<byte[]> {
  @Override
  public byte[] deserialize(String topic, byte[] data) {
    return null;
  }

  @Override
  public byte[] deserialize(String topic, Headers headers, ByteBuffer data) {
    return null;
  }
}
