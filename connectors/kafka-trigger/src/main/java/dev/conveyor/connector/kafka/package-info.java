/**
 * The {@code type: kafka} connector: records of a user topic become invocations of one function.
 * {@link KafkaTriggerFactory} defines and checks the entry's keys; {@link KafkaTrigger} consumes the
 * topic and submits each record (the value as payload, {@code ce_*} headers as CloudEvents attributes,
 * a dedupe key per topic, partition and offset), committing an offset only once every record before it
 * is done; in ordered mode a key's next record waits for the previous one's terminal status.
 *
 * <p>May use: {@code dev.conveyor.connector.spi} only. Built on the Vert.x Kafka client and Bean
 * Validation.
 */
package dev.conveyor.connector.kafka;
