/**
 * Calls a function once. {@link Invoker} is the contract and {@link HttpInvoker} its implementation: a
 * POST over a pooled keep-alive client, the attempt's timeout over the whole exchange, response bodies
 * capped, a Knative revision's cluster-local CA trusted. Every call ends as an {@link AttemptResult}
 * (response, timeout or transport error), never as a failed future. {@link RetryAfter} reads a
 * {@code Retry-After} header.
 *
 * <p>May use: {@code api}, {@code functions}, {@code time}. Built on Vert.x core's HTTP client.
 */
package dev.conveyor.engine.invoke;
