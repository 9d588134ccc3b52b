package dev.conveyor.engine.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.dispatch.FairScheduler.Job;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FairSchedulerTest {
  private final Map<String, Integer> tenantMax = new HashMap<>();
  private final Map<String, Integer> weights = new HashMap<>();
  private final Map<String, Integer> functionMax = new HashMap<>();
  private final Map<String, Integer> elsewhere = new HashMap<>();
  private final FairScheduler<Integer> s = new FairScheduler<>(new FairScheduler.Limits() {
    @Override
    public int tenantMax(String tenant) {
      return tenantMax.getOrDefault(tenant, 1000);
    }

    @Override
    public int weight(String tenant) {
      return weights.getOrDefault(tenant, 1);
    }

    @Override
    public int functionMax(String function) {
      return functionMax.getOrDefault(function, 1000);
    }

    @Override
    public int elsewhere(String tenant) {
      return elsewhere.getOrDefault(tenant, 0);
    }
  });

  private void offer(String tenant, String fn, int n) {
    for (int i = 0; i < n; i++) s.offer(new Job<>(tenant, fn, tenant.hashCode() & 1, i));
  }

  private static long count(List<Job<Integer>> jobs, String tenant) {
    return jobs.stream().filter(j -> j.tenant().equals(tenant)).count();
  }

  @Test
  void aTenantAtItsLimitWaitsWithoutHoldingUpAnother() {
    tenantMax.put("a", 5);
    tenantMax.put("b", 5);
    offer("a", "a/slow", 20_000);
    offer("b", "b/slow", 3);
    List<Job<Integer>> started = s.next(100);
    assertThat(count(started, "a")).isEqualTo(5);
    assertThat(count(started, "b")).isEqualTo(3);
    assertThat(s.next(100)).isEmpty();
    s.finished(started.get(0));
    List<Job<Integer>> more = s.next(100);
    assertThat(more).hasSize(1).allMatch(j -> j.tenant().equals(started.get(0).tenant()));
    assertThat(s.running("a")).isEqualTo(5);
    assertThat(s.waiting()).isEqualTo(20_000 - 6);
  }

  @Test
  void underContentionTenantsStartJobsInProportionToTheirWeights() {
    weights.put("a", 3);
    offer("a", "a/f", 1000);
    offer("b", "b/f", 1000);
    Map<String, Integer> started = new HashMap<>();
    for (int i = 0; i < 400; i++) {
      Job<Integer> j = s.next(1).get(0); // one slot: every start is a choice
      started.merge(j.tenant(), 1, Integer::sum);
      s.finished(j);
    }
    assertThat(started.get("a")).isEqualTo(300);
    assertThat(started.get("b")).isEqualTo(100);
  }

  @Test
  void withManyTenantsEachStartsItsFirstJobBeforeAnyStartsASecond() {
    for (int t = 0; t < 1000; t++) offer("t" + t, "t" + t + "/f", 3);
    List<Job<Integer>> first = s.next(1000);
    assertThat(first).hasSize(1000);
    assertThat(first.stream().map(Job::tenant).distinct()).hasSize(1000);
    tenantMax.put("t7", 1); // at its limit now: skipped, and still there once a slot frees
    first.forEach(s::finished);
    List<Job<Integer>> second = s.next(2000);
    assertThat(second).hasSize(1999);
    assertThat(count(second, "t7")).isEqualTo(1);
    assertThat(s.waiting()).isEqualTo(1);
  }

  @Test
  void anIdleTenantRejoinsWithoutCreditForItsIdleTime() {
    offer("a", "a/f", 1000);
    for (int i = 0; i < 500; i++) s.finished(s.next(1).get(0));
    offer("b", "b/f", 1000);
    Map<String, Integer> started = new HashMap<>();
    for (int i = 0; i < 100; i++) {
      Job<Integer> j = s.next(1).get(0);
      started.merge(j.tenant(), 1, Integer::sum);
      s.finished(j);
    }
    assertThat(started.get("a")).isBetween(49, 51);
  }

  @Test
  void aFunctionAtItsConcurrencyDoesNotHoldUpItsTenantsOtherFunctions() {
    functionMax.put("a/one", 1);
    offer("a", "a/one", 50);
    offer("a", "a/two", 3);
    List<Job<Integer>> started = s.next(100);
    assertThat(started.stream().filter(j -> j.function().equals("a/one"))).hasSize(1);
    assertThat(started.stream().filter(j -> j.function().equals("a/two"))).hasSize(3);
  }

  @Test
  void whatRunsElsewhereCountsAgainstTheTenantsLimitAndTheInFlightBoundHolds() {
    tenantMax.put("a", 5);
    elsewhere.put("a", 3);
    offer("a", "a/f", 10);
    assertThat(s.next(100)).hasSize(2);
    offer("b", "b/f", 10);
    assertThat(s.next(6)).hasSize(4); // 2 running + 4 = the dispatcher's bound of 6
  }

  @Test
  void jobsOfRevokedPartitionsAreDropped() {
    s.offer(new Job<>("a", "a/f", 0, 1));
    s.offer(new Job<>("a", "a/f", 1, 2));
    s.offer(new Job<>("b", "b/f", 1, 3));
    assertThat(s.drop(List.of(1))).extracting(Job::value).containsExactlyInAnyOrder(2, 3);
    assertThat(s.waiting()).isEqualTo(1);
    assertThat(s.waiting(1)).isZero();
    assertThat(s.next(10)).extracting(Job::value).containsExactly(1);
  }

  @Test
  void theOldestWaitingJobOfEachTenantIsTheLeastOfItsLinesFirstJobs() {
    tenantMax.put("a", 1);
    s.offer(new Job<>("a", "a/f", 0, 500)); // starts: not waiting
    s.offer(new Job<>("a", "a/f", 0, 300));
    s.offer(new Job<>("a", "a/f", 0, 100)); // behind 300 in its line
    s.offer(new Job<>("a", "a/g", 0, 200));
    s.offer(new Job<>("b", "b/f", 1, 900));
    assertThat(s.next(1)).extracting(Job::value).containsExactly(500);
    assertThat(s.oldestWaiting(v -> v)).containsOnly(java.util.Map.entry("a", 200L), java.util.Map.entry("b", 900L));
    while (!s.next(100).isEmpty()) {
      // start everything startable
    }
    assertThat(s.oldestWaiting(v -> v)).containsOnlyKeys("a"); // a is at its limit of one
  }
}
