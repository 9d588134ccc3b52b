/**
 * The HTTP edge. {@link ApiRoutes} orders every route's chain ({@link AuthHandler}, the body read within
 * the limit by {@link RawBodyHandler}, the handler, {@link FailureHandler}); {@link Admission} runs the
 * checks every invoke passes; handlers serve async accepts ({@link AcceptHandler}), sync calls
 * ({@link SyncHandler}), status, result, cancel, dead letters and usage; {@link AdminRoutes} serves
 * liveness, readiness, metrics and the OpenAPI document; {@link ServerVerticle} is one server per loop.
 *
 * <p>May use: api, attempt ({@code Verdict}), auth, config, deadletter, dispatch ({@code SyncCalls}),
 * functions, invoke ({@code AttemptResult}), kafka ({@code KafkaHealth}, {@code StoreFailure}), metering,
 * observability, queue, status, tenancy, time. Built on Vert.x web, OpenTelemetry and Jackson.
 *
 * <p>It admits and hands over ({@code ArchitectureTest}): no invoker, attempt path, breaker, backoff,
 * Resilience4j or Kafka type here; a sync call's attempts run in {@code dispatch}.
 */
package dev.conveyor.engine.http;
