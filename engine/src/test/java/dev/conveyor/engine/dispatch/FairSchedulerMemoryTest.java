package dev.conveyor.engine.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.dispatch.FairScheduler.Job;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@code maxMemoryInFlightMiB} in the fair scheduler: never exceeded, and no function starves. */
class FairSchedulerMemoryTest {
  private long memoryLimit = 1024;
  private long memoryElsewhere;
  private final FairScheduler<Integer> s = new FairScheduler<>(new FairScheduler.Limits() {
    @Override
    public int tenantMax(String tenant) {
      return 50;
    }

    @Override
    public int weight(String tenant) {
      return 1;
    }

    @Override
    public int functionMax(String function) {
      return 100;
    }

    @Override
    public int elsewhere(String tenant) {
      return 0;
    }

    @Override
    public long tenantMemory(String tenant) {
      return memoryLimit;
    }

    @Override
    public long memoryElsewhere(String tenant) {
      return memoryElsewhere;
    }
  });

  private void offer(String fn, int memoryMiB, int n) {
    for (int i = 0; i < n; i++) s.offer(new Job<>("acme", "acme/" + fn, 0, i, memoryMiB));
  }

  /**
   * A 256 MiB and a 1,024 MiB function under a 1,024 MiB limit, attempts ending in random order:
   * the memory running never exceeds the limit, and both functions finish all their work.
   */
  @Test
  void aSmallAndALargeFunctionShareTheMemoryAndBothFinish() {
    offer("small", 256, 400);
    offer("large", 1024, 40);
    Random random = new Random(7);
    List<Job<Integer>> running = new ArrayList<>();
    int small = 0;
    int large = 0;
    long peak = 0;
    int firstLargeAt = -1;
    for (int step = 0; step < 10_000 && (s.waiting() > 0 || !running.isEmpty()); step++) {
      running.addAll(s.next(100));
      long held = running.stream().mapToLong(Job::memoryMiB).sum();
      peak = Math.max(peak, held);
      assertThat(held).as("memory in flight at step " + step).isLessThanOrEqualTo(1024);
      assertThat(s.memory("acme")).isEqualTo(held);
      if (running.isEmpty()) break;
      Job<Integer> done = running.remove(random.nextInt(running.size()));
      s.finished(done);
      if (done.function().endsWith("large")) {
        large++;
        if (firstLargeAt < 0) firstLargeAt = small;
      } else {
        small++;
      }
    }
    assertThat(small).isEqualTo(400);
    assertThat(large).isEqualTo(40);
    assertThat(peak).isEqualTo(1024);
    // The large one did not wait for the small ones to run out: it went within a few passes.
    assertThat(firstLargeAt).isLessThanOrEqualTo(FairScheduler.MAX_PASSED_OVER + 4);
  }

  @Test
  void aSmallFunctionStartsWhileALargeOneWaitsButOnlyUpToTheBypassBound() {
    memoryLimit = 1024;
    offer("small", 256, 100);
    List<Job<Integer>> first = s.next(100);
    assertThat(first).hasSize(4); // 4 × 256 fill the limit
    offer("large", 1024, 1);
    // Each time one small ends, another small starts ahead of the large one, up to MAX_PASSED_OVER times.
    int passed = 0;
    List<Job<Integer>> running = new ArrayList<>(first);
    while (true) {
      s.finished(running.remove(0));
      List<Job<Integer>> next = s.next(100);
      if (next.isEmpty()) break;
      assertThat(next).hasSize(1).allMatch(j -> j.function().equals("acme/small"));
      running.addAll(next);
      passed++;
    }
    // The first small had its turn before the large one's; then MAX_PASSED_OVER passed it.
    assertThat(passed).isEqualTo(FairScheduler.MAX_PASSED_OVER + 1);
    // Now the tenant reserves for the large one: nothing starts until the smalls drain, then it runs.
    while (running.size() > 1) {
      s.finished(running.remove(0));
      assertThat(s.next(100)).isEmpty();
    }
    s.finished(running.remove(0));
    assertThat(s.next(100)).singleElement().matches(j -> j.function().equals("acme/large"));
  }

  @Test
  void memoryHeldElsewhereCountsAndAnAttemptLargerThanTheLimitRunsAlone() {
    memoryLimit = 512;
    memoryElsewhere = 256;
    offer("small", 256, 3);
    assertThat(s.next(100)).hasSize(1); // 256 here + 256 elsewhere
    memoryElsewhere = 0;
    assertThat(s.next(100)).hasSize(1);
    assertThat(s.next(100)).isEmpty();
    // A function grown past the whole limit after it was queued runs when nothing else of the tenant does.
    FairScheduler<Integer> t = new FairScheduler<>(new FairScheduler.Limits() {
      public int tenantMax(String tenant) {
        return 10;
      }

      public int weight(String tenant) {
        return 1;
      }

      public int functionMax(String function) {
        return 10;
      }

      public int elsewhere(String tenant) {
        return 0;
      }

      public long tenantMemory(String tenant) {
        return 512;
      }
    });
    t.offer(new Job<>("acme", "acme/small", 0, 1, 256));
    t.offer(new Job<>("acme", "acme/huge", 0, 2, 2048));
    List<Job<Integer>> a = t.next(10);
    assertThat(a).singleElement().matches(j -> j.memoryMiB() == 256);
    assertThat(t.next(10)).isEmpty();
    t.finished(a.get(0));
    assertThat(t.next(10)).singleElement().matches(j -> j.memoryMiB() == 2048);
  }

  @Test
  void withoutAMemoryLimitMemoryIsNotCounted() {
    memoryLimit = 0;
    offer("large", 4096, 10);
    assertThat(s.next(100)).hasSize(10);
  }
}
