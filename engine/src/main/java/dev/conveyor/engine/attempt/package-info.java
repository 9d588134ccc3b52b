/**
 * One attempt of an invocation, the same for every mode ({@link AttemptPath}): its span, its timeout
 * (longer while the revision scales from zero), the call, the {@link Verdict} (Knative's own answers told
 * from the function's by {@link KnativeAnswers}), the breaker's record, the function's capacity sample,
 * the cold start's span and metric, and the usage record. What follows a verdict (retry, park, dead
 * letter, answer the caller) belongs to the caller.
 *
 * <p>May use: {@code api}, {@code breaker}, {@code functions}, {@code invoke}, {@code limit},
 * {@code metering} (the usage record), {@code observability}, {@code time}. Built on Resilience4j's
 * {@code CircuitBreaker}, OpenTelemetry and Vert.x futures.
 */
package dev.conveyor.engine.attempt;
