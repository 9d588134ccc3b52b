/**
 * Strict binding of a mapping onto a config record, the one binding of the gateway's config file, of
 * Knative {@code conveyor.dev/...} annotations and of {@code connectors:} entries (and of the connector
 * test kit): {@link ConfigBinder} binds with Jackson, fills keys left out from the record's
 * {@code DEFAULTS}, checks Bean Validation constraints and reports any problem as one
 * {@link ConfigException} naming the key's path.
 *
 * <p>May use: no other Conveyor package. Built on Jackson (YAML) and Bean Validation
 * (Hibernate Validator).
 */
package dev.conveyor.config;
