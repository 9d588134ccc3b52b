/**
 * The contract between the gateway and its trigger connectors: {@link TriggerConnector} is a source of
 * invocations started and stopped with the gateway; {@link ConnectorFactory} is found with
 * {@code ServiceLoader} by the {@code type} of a {@code connectors:} entry and names the record the
 * entry binds onto; {@link ConnectorContext} is what the gateway gives a connector (submit, outcome,
 * durable state, leadership, metrics, its Vert.x instance).
 *
 * <p>May use: no other Conveyor package; Vert.x core only (futures, handlers). Connectors depend on this
 * package alone, never on the engine's internals.
 */
package dev.conveyor.connector.spi;
