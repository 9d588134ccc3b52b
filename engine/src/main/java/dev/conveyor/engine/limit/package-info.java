/**
 * How many calls of a function may be in flight at once ({@link FunctionCapacity}): bounded by the
 * function's {@code concurrency} and, for a Knative revision with a {@code containerConcurrency}, by
 * twice its pod capacity; within that bound an AIMD limit shrinks on an overload answer (queue-proxy's
 * or the Activator's 503 {@code pending request queue full}) and grows on the others.
 *
 * <p>May use: {@code functions}. Built on Netflix concurrency-limits ({@code AIMDLimit}).
 */
package dev.conveyor.engine.limit;
