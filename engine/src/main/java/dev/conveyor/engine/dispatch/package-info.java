/**
 * Runs invocations. {@link Dispatcher} consumes the queue in the dispatch group and starts each record
 * when the {@link FairScheduler} gives it a slot (replica, tenant and function limits; weighted fair
 * between tenants); {@link InvocationRunner} delivers one invocation to a terminal status (attempts,
 * usage, status, retries, destinations, callbacks, dead letters through {@link DeadLetters});
 * {@link RetryRouter} moves parked retries along the retry tiers and back to the queue; {@link SyncCalls}
 * runs a sync call's attempts while its caller waits, under the same limits ({@link SyncSlots}).
 *
 * <p>May use: {@code api}, {@code attempt}, {@code breaker}, {@code callback}, {@code config},
 * {@code consume}, {@code functions}, {@code invoke}, {@code kafka}, {@code metering},
 * {@code observability}, {@code queue}, {@code status}, {@code time}. Built on Vert.x core and its Kafka
 * client, the Kafka clients, Caffeine, Resilience4j and OpenTelemetry.
 */
package dev.conveyor.engine.dispatch;
