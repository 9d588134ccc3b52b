/**
 * The sample functions a new user can invoke at once ({@link SampleFunctions}, started when
 * {@code samples.enabled} is set, as in the shipped config): {@code /echo} answers the body back,
 * {@code /sleep?ms=} waits first, {@code /flaky?failRate=} fails with 500 at that rate. Plain HTTP POST,
 * as a Knative revision's container takes it.
 *
 * <p>May use: no other Conveyor package; Vert.x core's HTTP server only.
 */
package dev.conveyor.engine.samples;
