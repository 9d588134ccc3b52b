/**
 * Conveyor's Kafka plumbing: client settings in one place ({@link KafkaClients}); topic names, retry
 * tiers and creation ({@link Topics}); one shared idempotent producer that never blocks an event loop
 * ({@link KafkaSender}, behind {@link RecordSink}) and what a failed write means
 * ({@link OutcomeUnknownException}, {@link StoreFailure}); a consumer on its own thread for one-off reads
 * ({@link ConsumerThread}); a group-less reader that replays and follows a whole topic
 * ({@link TopicFollower}); a broker reachability flag ({@link KafkaHealth}); a headers-only deserializer
 * ({@link HeadersOnly}); and an in-process KRaft broker ({@link EmbeddedKafka}).
 *
 * <p>May use: {@code config} ({@code KafkaSettings}, {@code StatusSettings}). Built on the Kafka
 * clients, the Kafka server ({@code kafka.server}, for the embedded broker) and Vert.x core futures
 * and timers.
 */
package dev.conveyor.engine.kafka;
