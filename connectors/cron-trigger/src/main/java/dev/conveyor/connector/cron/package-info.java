/**
 * The {@code type: cron} connector: a schedule's ticks become invocations of one function.
 * {@link CronTriggerFactory} defines and checks the entry's keys; {@link Schedule} parses the cron
 * expression (five fields, or six with seconds first, in a time zone) and applies the missed-tick
 * policy; {@link CronTrigger} fires each tick from the one replica that holds the schedule's lease,
 * exactly once per tick through a dedupe key and the last tick saved as connector state.
 *
 * <p>May use: {@code dev.conveyor.connector.spi} only. Built on cron-utils, Vert.x core and Bean
 * Validation.
 */
package dev.conveyor.connector.cron;
