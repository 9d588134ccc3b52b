/**
 * The one source of time: {@link Time} gives the wall clock, a monotonic clock and timers (Vert.x timers
 * in the gateway), and feeds the libraries that keep time of their own (Caffeine's {@code Ticker},
 * Bucket4j's {@code TimeMeter}, a {@code java.time.Clock} for Resilience4j), so one test clock drives
 * every expiry, backoff, window and deadline.
 *
 * <p>May use: no other Conveyor package; Vert.x core, Caffeine and Bucket4j types only.
 *
 * <p>Only this package reads a clock: {@code ArchitectureTest} forbids {@code System.nanoTime},
 * {@code System.currentTimeMillis}, {@code Instant.now}, the system {@code Clock}s, Bucket4j's system
 * time meters and Caffeine's system ticker everywhere else in the engine.
 */
package dev.conveyor.engine.time;
