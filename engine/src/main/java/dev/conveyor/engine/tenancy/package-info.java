/**
 * Tenants and what they may do at accept time. {@link Tenants} is the configured set and its API keys,
 * swapped whole when {@link ConfigWatcher} sees the config file change; {@link Placement} mints ids that
 * land in the tenant's queue partition and carry this replica's tag; {@link RateQuotas} is a token bucket
 * per tenant; {@link Backlog} counts each tenant's accepts on this replica not yet terminal, for
 * {@code maxQueued}, with an honest Retry-After.
 *
 * <p>May use: {@code api}, {@code auth}, {@code config}, {@code status}, {@code time}, and
 * {@code dev.conveyor.config} ({@code ConfigException}). Built on Bucket4j and Vert.x' file system.
 */
package dev.conveyor.engine.tenancy;
