/**
 * Resolves {@code namespace/function} to where and how it is delivered: {@link FunctionRegistry} looks
 * in the config's static targets first, then in a discovered {@link FunctionRegistry.Source} (Knative),
 * both in memory, never calling out. {@link FunctionTarget} is the resolved target (URL, memory,
 * concurrency, delivery and breaker policy) and {@link Serving} what Knative says about the revisions
 * that carry its traffic ({@link Serving#NONE} for static targets).
 *
 * <p>May use: {@code config} (the function, delivery and breaker records of {@code ConveyorConfig}).
 * No outside library.
 */
package dev.conveyor.engine.functions;
