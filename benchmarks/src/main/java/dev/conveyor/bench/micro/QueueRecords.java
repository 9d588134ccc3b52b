package dev.conveyor.bench.micro;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.queue.InvocationCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MemoryRecordsBuilder;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A queue record's metadata as the Kafka client handles it, per record: {@code append} is what the
 * accept path's {@code KafkaProducer.send} does on the event loop (build the record, size it, write
 * it into the batch), {@code read} what the dispatcher's consumer does (parse the record from the
 * fetched batch, headers included, and decode the invocation). {@code packed}: the metadata in one
 * binary header beside {@code traceparent}, as queued; {@code readable}: one header per field, as
 * dead-lettered (and as queued by earlier versions).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class QueueRecords {
  private static final int BATCH = 100;

  @Param({"packed", "readable"})
  public String format;

  private Invocation inv;
  private ByteBuffer batchBuffer;
  private MemoryRecords fetched;

  @Setup
  public void setUp() {
    inv = new Invocation("0197ab2c-1111-7222-8333-444455556666", "acme", "acme", "resize", "application/json",
        "{\"order\":\"8c2d1f\",\"items\":[{\"sku\":\"A-1\",\"qty\":2}],\"total\":42.5}".getBytes(StandardCharsets.UTF_8), null,
        Map.of(), Instant.parse("2026-03-01T10:00:00.123Z"), null, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        null, "http");
    batchBuffer = ByteBuffer.allocate(256 * 1024);
    MemoryRecordsBuilder b = builder(ByteBuffer.allocate(256 * 1024));
    for (int i = 0; i < BATCH; i++) append(b, record());
    fetched = b.build();
  }

  private ProducerRecord<String, byte[]> record() {
    return format.equals("packed") ? InvocationCodec.encode("conveyor.invocations", 0, inv, ConveyorConfig.QueueHeaders.packed)
        : InvocationCodec.readable("conveyor.invocations", inv);
  }

  private static MemoryRecordsBuilder builder(ByteBuffer into) {
    into.clear();
    return MemoryRecords.builder(into, RecordBatch.CURRENT_MAGIC_VALUE, Compression.NONE, TimestampType.CREATE_TIME, 0L);
  }

  /** As the producer's accumulator does: is there room, then append. */
  private static void append(MemoryRecordsBuilder b, ProducerRecord<String, byte[]> r) {
    byte[] key = r.key().getBytes(StandardCharsets.UTF_8);
    Header[] headers = r.headers().toArray();
    if (!b.hasRoomFor(r.timestamp(), key, r.value(), headers)) throw new IllegalStateException("batch full");
    b.append(r.timestamp(), key, r.value(), headers);
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public MemoryRecords append() {
    MemoryRecordsBuilder b = builder(batchBuffer);
    for (int i = 0; i < BATCH; i++) append(b, record());
    return b.build();
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long read() {
    long n = 0;
    for (RecordBatch batch : fetched.batches()) {
      for (Record r : batch) {
        n += InvocationCodec.decode(new RecordHeaders(r.headers()), null).acceptedAt().toEpochMilli();
      }
    }
    return n;
  }
}
