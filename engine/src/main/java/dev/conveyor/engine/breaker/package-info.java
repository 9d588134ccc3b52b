/**
 * One circuit breaker per function ({@link Breakers}): no answer, a transport error, 429 or a 5xx says
 * the function is unwell; while a breaker is open no call is made, and after {@code openFor} a few probes
 * decide whether it closes. Each breaker's state is the {@code conveyor_circuit_state} gauge.
 *
 * <p>May use: {@code functions}, {@code invoke} (to judge an {@code AttemptResult}), {@code time} (the
 * breakers' clock). Built on Resilience4j and Micrometer.
 */
package dev.conveyor.engine.breaker;
