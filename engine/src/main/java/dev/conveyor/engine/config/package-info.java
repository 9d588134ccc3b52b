/**
 * The gateway's config file. {@link ConveyorConfig} is its tree of records (one per mapping, one
 * component per key, a {@code DEFAULTS} for what the file leaves out, Bean Validation annotations for
 * ranges); {@link ConfigLoader} reads the YAML onto it strictly, applies the environment overrides,
 * checks the rules that span keys, and binds each {@code connectors:} entry onto the config record of
 * the connector factory its {@code type} names.
 *
 * <p>May use: no other engine package; {@code dev.conveyor.config} ({@code ConfigBinder},
 * {@code ConfigException}) and {@code dev.conveyor.connector.spi} (factories found with
 * {@code ServiceLoader}). Built on Jackson (YAML) and Bean Validation (Hibernate Validator).
 */
package dev.conveyor.engine.config;
