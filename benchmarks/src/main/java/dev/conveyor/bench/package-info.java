/**
 * The end-to-end benchmarks of {@code benchmarks/run.sh} (accept, admission, drain, sync, sustained,
 * warm, fairness, coldstart, backlog): each starts a broker, gateways and functions as JVMs of their own
 * ({@link ChildProcess}), drives them with {@link LoadGenerator} beside a baseline such as the bare Vert.x
 * server {@link BareServer}, measures the CPU each process spends per 1,000 requests ({@link Cpu}) and
 * writes JSON, Markdown and a chart ({@link Report}).
 *
 * <p>May use: the engine's root package ({@code Conveyor}), {@code engine.config}, {@code engine.kafka}
 * ({@code EmbeddedKafka}) and {@code engine.knative} (the typed resources served by fabric8's mock API
 * server). Built on Vert.x core, HdrHistogram and XChart.
 */
package dev.conveyor.bench;
