package dev.conveyor.bench.micro;

import dev.conveyor.engine.dispatch.FairScheduler;
import dev.conveyor.engine.dispatch.FairScheduler.Job;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The dispatcher's bookkeeping per invocation: one job ends and the next starts, with
 * {@code tenants} tenants each holding waiting jobs and the replica at {@code maxInFlight}. The
 * choice of the next tenant scans the tenants, so this shows what that costs as they grow.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class Scheduling {
  @Param({"1", "10", "100", "1000"})
  public int tenants;

  private static final int MAX_IN_FLIGHT = 512;
  private FairScheduler<Integer> scheduler;
  private java.util.ArrayDeque<Job<Integer>> running;
  private String[] names;
  private int next;

  @Setup
  public void setUp() {
    scheduler = new FairScheduler<>(new FairScheduler.Limits() {
      @Override
      public int tenantMax(String tenant) {
        return 1_000_000;
      }

      @Override
      public int weight(String tenant) {
        return 1;
      }

      @Override
      public int functionMax(String function) {
        return 1_000_000;
      }

      @Override
      public int elsewhere(String tenant) {
        return 0;
      }
    });
    names = new String[tenants];
    for (int i = 0; i < tenants; i++) names[i] = "tenant-" + i;
    for (int i = 0; i < MAX_IN_FLIGHT * 2 + tenants * 2; i++) offer();
    running = new java.util.ArrayDeque<>(scheduler.next(MAX_IN_FLIGHT));
  }

  private void offer() {
    String t = names[next++ % names.length];
    scheduler.offer(new Job<>(t, t + "/fn", 0, next));
  }

  @Benchmark
  public List<Job<Integer>> endOneStartOne() {
    scheduler.finished(running.poll());
    offer();
    List<Job<Integer>> started = scheduler.next(MAX_IN_FLIGHT);
    running.addAll(started);
    return started;
  }
}
