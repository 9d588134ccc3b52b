/**
 * The gateway's entry points and composition root. {@link Main} is {@code bin/conveyor}'s entry and runs
 * {@code up}; {@link Conveyor} builds every component from the config in one place and starts them in
 * order (broker, topics, status replay, dispatcher, API), {@link Lifecycle} stopping them in reverse;
 * {@link WarmUp} drives the replica's own accept path until the JIT settles, before it reports ready.
 *
 * <p>May use: attempt, auth, breaker, callback, cli, config, connect, deadletter, dispatch, functions,
 * http, invoke, kafka, knative, limit, metering, observability, queue, samples, status, tenancy, time,
 * and {@code dev.conveyor.config}. Built on Vert.x core, the Kafka clients, fabric8 and SLF4J.
 *
 * <p>Pinned by {@code ArchitectureTest} for the packages below: no cycle between them, and no clock read
 * outside {@code time}.
 */
package dev.conveyor.engine;
