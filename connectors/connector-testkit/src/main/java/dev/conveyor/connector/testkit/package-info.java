/**
 * Test support for connector authors. {@link ConnectorContract} is the contract test every trigger
 * connector extends (found by {@code ServiceLoader}, bad entries refused naming the key, each event
 * submitted once, failed stores retried, nothing submitted after {@code stop()}); it runs against
 * {@link RecordingContext}, an in-memory {@code ConnectorContext} that dedupes, fails or rejects on demand
 * and grants or takes away leadership; {@link ConnectorConfigs} binds an entry as the gateway does.
 *
 * <p>May use: {@code dev.conveyor.connector.spi} and {@code dev.conveyor.config}. Built on JUnit 5,
 * AssertJ, Awaitility, Jackson and Vert.x core.
 */
package dev.conveyor.connector.testkit;
