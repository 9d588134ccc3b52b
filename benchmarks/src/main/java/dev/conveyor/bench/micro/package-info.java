/**
 * JMH microbenchmarks of the hot paths ({@code benchmarks/run.sh micro}): {@link Codecs} measures the
 * encodings every delivered invocation costs (its queue record, its status, its usage record),
 * {@link Scheduling} the dispatcher's scheduling work per invocation; {@link Micro} runs them and writes
 * benchmarks/results/micro.md.
 *
 * <p>May use: {@code engine.api}, {@code engine.dispatch} ({@code FairScheduler}),
 * {@code engine.metering}, {@code engine.queue}, {@code engine.status}. Built on JMH and the Kafka
 * clients.
 */
package dev.conveyor.bench.micro;
