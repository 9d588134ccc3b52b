/**
 * {@code bin/conveyor}'s command line. {@link Cli} holds the gateway ({@code up}), the tour
 * ({@code demo}), the usage export read from Kafka ({@code usage export}) and shell completion; the
 * client commands ({@code invoke}, {@code status}, {@code result}, {@code cancel}, {@code dlq},
 * {@code usage}) call a running gateway's HTTP API over the JDK's HttpClient, each failure one line
 * with a documented exit code.
 *
 * <p>May use: the root package ({@code Main}, for {@code up} and the config), {@code config},
 * {@code demo}, {@code metering} ({@code UsageExport}), {@code time}, and {@code dev.conveyor.config}.
 * Built on picocli and Jackson.
 */
package dev.conveyor.engine.cli;
