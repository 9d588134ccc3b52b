package dev.conveyor.engine.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.kafka.Topics;
import dev.conveyor.engine.queue.InvocationCodec;
import dev.conveyor.engine.testing.ManualTime;
import dev.conveyor.engine.testing.RecordLog;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/**
 * The retry router over Kafka's {@link MockConsumer}, a {@link ManualTime} and a {@link RecordLog},
 * one turn of its poll loop at a time ({@code step}). The tiers are 5 s, 30 s, 2 min, 10 min and 1 h.
 */
class RetryRouterTest {
  private static final int QUEUE_PARTITIONS = 6;

  private final ManualTime time = new ManualTime();
  private final Topics topics = Topics.of("t.");
  private final RecordLog kafka = new RecordLog(topics.status());
  private final MockConsumer<String, byte[]> consumer = new MockConsumer<>("earliest");
  private final RetryRouter router = new RetryRouter(consumer, topics, QUEUE_PARTITIONS, kafka, time);
  private final TopicPartition fiveSeconds = new TopicPartition("t.retry.5s", 0);
  private final TopicPartition tenMinutes = new TopicPartition("t.retry.10m", 0);
  /** What the broker holds per partition: MockConsumer forgets what it returned, a broker does not (a seek back reads it again). */
  private final Map<TopicPartition, List<ConsumerRecord<String, byte[]>>> log = new HashMap<>();

  RetryRouterTest() {
    router.subscribe();
    consumer.rebalance(List.of(fiveSeconds, tenMinutes));
    consumer.updateBeginningOffsets(Map.of(fiveSeconds, 0L, tenMinutes, 0L));
  }

  private Invocation invocation(String id) {
    return new Invocation(id, "acme", "acme", "resize", "application/json", "{}".getBytes(StandardCharsets.UTF_8), null, Map.of(),
        time.now(), null, null, null, null);
  }

  /** Attempt {@code attempt} of a new invocation parked now on {@code tp}, due {@code dueIn} from now. */
  private String park(TopicPartition tp, int attempt, Duration dueIn) {
    String id = InvocationIds.next(time.millis());
    ProducerRecord<String, byte[]> r = InvocationCodec.retry(tp.topic(), null, invocation(id), attempt,
        time.millis() + dueIn.toMillis(), time.millis(), dev.conveyor.engine.config.ConveyorConfig.QueueHeaders.packed);
    List<ConsumerRecord<String, byte[]>> records = log.computeIfAbsent(tp, k -> new ArrayList<>());
    records.add(new ConsumerRecord<>(tp.topic(), tp.partition(), records.size(), r.timestamp(), TimestampType.CREATE_TIME, -1, -1,
        r.key(), r.value(), r.headers(), Optional.empty()));
    return id;
  }

  /** One turn of the loop, the broker's records offered again as a real consumer would read them. */
  private void step() {
    log.forEach((tp, records) -> records.forEach(consumer::addRecord));
    router.step();
  }

  private List<ProducerRecord<String, byte[]>> on(String topic) {
    return kafka.on(topic);
  }

  private long committed(TopicPartition tp) {
    OffsetAndMetadata om = consumer.committed(java.util.Set.of(tp)).get(tp);
    return om == null ? -1 : om.offset();
  }

  @Test
  void aRetryIsHeldForItsTierThenGoesToTheQueuePartitionOfItsId() {
    String id = park(fiveSeconds, 2, Duration.ofSeconds(5));
    step();
    assertThat(on(topics.invocations())).as("not due for 5 s").isEmpty();
    assertThat(consumer.paused()).containsExactly(fiveSeconds);

    time.advance(Duration.ofMillis(4_999));
    step();
    assertThat(on(topics.invocations())).isEmpty();

    time.advance(Duration.ofMillis(1));
    step();
    assertThat(consumer.paused()).isEmpty();
    List<ProducerRecord<String, byte[]>> queued = on(topics.invocations());
    assertThat(queued).hasSize(1);
    assertThat(queued.get(0).key()).isEqualTo(id);
    assertThat(queued.get(0).partition()).isEqualTo(InvocationIds.partition(id, QUEUE_PARTITIONS));
    assertThat(RecordLog.header(queued.get(0), InvocationCodec.ATTEMPT)).isEqualTo("2");
    assertThat(queued.get(0).timestamp()).as("stamped when forwarded").isEqualTo(time.millis());
  }

  @Test
  void aHeldRecordHoldsThoseBehindItAndEverythingForwardedIsCommitted() {
    String first = park(fiveSeconds, 2, Duration.ofSeconds(5));
    time.advance(Duration.ofSeconds(2));
    String second = park(fiveSeconds, 3, Duration.ofSeconds(5));
    time.advance(Duration.ofSeconds(3));
    step();
    assertThat(on(topics.invocations())).extracting(ProducerRecord::key).as("the second is due 2 s later").containsExactly(first);
    time.advance(Duration.ofSeconds(1));
    step();
    assertThat(committed(fiveSeconds)).as("the first is stored on the queue: committed past it").isEqualTo(1);
    time.advance(Duration.ofSeconds(1));
    step();
    time.advance(Duration.ofSeconds(1));
    step();
    assertThat(on(topics.invocations())).extracting(ProducerRecord::key).containsExactly(first, second);
    assertThat(committed(fiveSeconds)).isEqualTo(2);
  }

  @Test
  void aLongWaitMovesDownTheTiersUntilLessThanTheShortestRemains() {
    String id = park(tenMinutes, 4, Duration.ofMinutes(12));
    time.advance(Duration.ofMinutes(10));
    step();
    assertThat(on(topics.invocations())).isEmpty();
    List<ProducerRecord<String, byte[]>> next = on("t.retry.2m");
    assertThat(next).as("2 min remain: the 2 min tier").extracting(ProducerRecord::key).containsExactly(id);
    assertThat(RecordLog.header(next.get(0), InvocationCodec.DUE_AT)).as("the due time travels unchanged")
        .isEqualTo(Long.toString(time.millis() + Duration.ofMinutes(2).toMillis()));
  }

  @Test
  void aParkedCallbackGoesBackToTheTopicItNames() {
    park(fiveSeconds, 2, Duration.ofSeconds(5));
    var rec = log.get(fiveSeconds).get(0);
    rec.headers().add(InvocationCodec.RETURN_TO, "t.callbacks".getBytes(StandardCharsets.UTF_8));
    time.advance(Duration.ofSeconds(5));
    step();
    assertThat(on("t.callbacks")).hasSize(1);
    assertThat(on(topics.invocations())).isEmpty();
  }

  @Test
  void aForwardKafkaDidNotTakeIsTriedAgainAndNotCommittedUntilItIsStored() {
    park(fiveSeconds, 2, Duration.ofSeconds(5));
    kafka.fail(r -> true);
    time.advance(Duration.ofSeconds(5));
    step();
    time.advance(Duration.ofSeconds(1)); // the retry of the send fires, and fails again
    step();
    assertThat(kafka.failures()).isGreaterThanOrEqualTo(2);
    assertThat(committed(fiveSeconds)).as("nothing stored: nothing committed past it").isLessThanOrEqualTo(0);
    kafka.heal();
    time.advance(Duration.ofSeconds(1));
    step();
    time.advance(Duration.ofSeconds(1));
    step();
    assertThat(on(topics.invocations())).hasSize(1);
    assertThat(committed(fiveSeconds)).isEqualTo(1);
  }
}
