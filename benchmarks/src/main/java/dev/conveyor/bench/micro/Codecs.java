package dev.conveyor.bench.micro;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationState;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import dev.conveyor.engine.metering.AttemptOutcome;
import dev.conveyor.engine.metering.InvocationMode;
import dev.conveyor.engine.metering.UsageEmitter;
import dev.conveyor.engine.metering.UsageEmitterAttemptBuilder;
import dev.conveyor.engine.config.ConveyorConfig;
import dev.conveyor.engine.queue.InvocationCodec;
import dev.conveyor.engine.status.StatusCodec;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What every delivered invocation costs in encoding: its queue record read back, its final status
 * written and read back (with a small result; as JSON and packed), its usage record. Per operation,
 * in microseconds.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class Codecs {
  private Invocation inv;
  private InvocationStatus succeeded;
  private StoredResult result;
  private byte[] statusBytes;
  private byte[] packedStatusBytes;
  private ConsumerRecord<String, byte[]> queueRecord;
  private UsageEmitter usage;
  private UsageEmitter.Attempt attempt;

  @Setup
  public void setUp() {
    Instant t = Instant.parse("2026-03-01T10:00:00.123Z");
    inv = new Invocation("0197ab2c-1111-7222-8333-444455556666", "acme", "acme", "resize", "application/json",
        "{\"order\":\"8c2d1f\",\"items\":[{\"sku\":\"A-1\",\"qty\":2}],\"total\":42.5}".getBytes(StandardCharsets.UTF_8), null,
        Map.of(), t, null, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", null, "http");
    succeeded = InvocationStatus.queued(inv).running(1, t.plusMillis(4)).attemptEnded(InvocationState.succeeded, t.plusMillis(41), 37,
        200, null);
    result = new StoredResult(200, "application/json", "{\"ok\":true}".getBytes(StandardCharsets.UTF_8));
    statusBytes = StatusCodec.encode(succeeded, result);
    packedStatusBytes = StatusCodec.encode(dev.conveyor.engine.config.ConveyorConfig.StatusRecords.packed, succeeded, result);
    ProducerRecord<String, byte[]> p = InvocationCodec.encode("conveyor.invocations", 0, inv, ConveyorConfig.QueueHeaders.packed);
    queueRecord = new ConsumerRecord<>(p.topic(), 0, 42L, p.key(), p.value());
    p.headers().forEach(h -> queueRecord.headers().add(h));
    usage = new UsageEmitter(null, "conveyor.usage", "//conveyor/bench", 1);
    attempt = UsageEmitterAttemptBuilder.builder().invocation(inv).attempt(1).mode(InvocationMode.async).trigger("http")
        .outcome(AttemptOutcome.success).httpStatus(200).start(t.plusMillis(4)).end(t.plusMillis(41)).queueWaitMs(4).memoryMiB(256)
        .requestBytes(inv.payload().length).responseBytes(11).revision("resize-00003").build();
  }

  @Benchmark
  public byte[] statusEncode() {
    return StatusCodec.encode(succeeded, result);
  }

  @Benchmark
  public StatusCodec.Envelope statusDecode() throws Exception {
    return StatusCodec.decode(statusBytes);
  }

  @Benchmark
  public byte[] statusEncodePacked() {
    return StatusCodec.encode(dev.conveyor.engine.config.ConveyorConfig.StatusRecords.packed, succeeded, result);
  }

  @Benchmark
  public StatusCodec.Envelope statusDecodePacked() throws Exception {
    return StatusCodec.decode(packedStatusBytes);
  }

  @Benchmark
  public Invocation queueRecordDecode() {
    return InvocationCodec.decode(queueRecord);
  }

  @Benchmark
  public ProducerRecord<String, byte[]> usageRecord() {
    return usage.record(attempt);
  }
}
