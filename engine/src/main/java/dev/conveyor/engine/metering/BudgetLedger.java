package dev.conveyor.engine.metering;

import dev.conveyor.engine.config.ConveyorConfig.Budget;
import dev.conveyor.engine.time.Time;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Each tenant's budgets as this replica sees them: what each has used in its current period, read
 * from the hourly rollups every replica follows ({@link UsageRollups}), so replicas agree with each
 * other and with {@code GET /v1/usage}. The accept path asks {@link #refusal} (a map lookup); the
 * sums are made off that path, by {@link #refresh}, only for tenants whose rollups changed, whose
 * budgets changed (a reload) or whose period ended.
 *
 * <p>How far it trails the usage: a usage record reaches the rollups within the rollups' commit
 * interval and punctuation (about two seconds), then this replica's follower and the next refresh.
 * Invocations accepted in that time still run, and are billed: that is the overspend a budget
 * allows, whatever the number of replicas (each reads the same rollups). Invocations accepted
 * before a budget is spent always run; a budget refuses only new ones.
 */
public final class BudgetLedger {
  /** One budget of a tenant in its current period. */
  public record State(Budget budget, BudgetWindows.Window window, BigDecimal gibSeconds, long invocations, double usedRatio,
      boolean spent) {
    /** Whether it refuses new invocations now. */
    public boolean refuses() {
      return spent && budget.enforce();
    }
  }

  private final Supplier<Map<String, List<Budget>>> budgets;
  private final Time time;
  private final dev.conveyor.engine.observability.Metrics metrics;
  private final Set<String> dirty = ConcurrentHashMap.newKeySet();
  private final Set<String> gauges = new java.util.HashSet<>();
  private volatile UsageRollups rollups;
  private volatile Map<String, List<State>> states = Map.of();
  private Map<String, List<Budget>> lastBudgets = Map.of();

  /**
   * @param budgets the tenants' budgets as configured now (tenants without any left out)
   * @param metrics where {@code conveyor_budget_used_ratio{tenant,period}} is shown
   */
  public BudgetLedger(Supplier<Map<String, List<Budget>>> budgets, Time time, dev.conveyor.engine.observability.Metrics metrics) {
    this.budgets = budgets;
    this.time = time;
    this.metrics = metrics;
  }

  /** Reads the budgets' usage from {@code rollups}: until then, none is known (nothing is refused). */
  public void follow(UsageRollups rollups) {
    rollups.onChange(dirty::add);
    this.rollups = rollups;
    states = Map.of();
  }

  /** Sums again what changed; from one thread at a time (a timer). */
  public synchronized void refresh() {
    if (rollups == null) return;
    Instant now = time.now();
    Map<String, List<Budget>> current = budgets.get();
    Map<String, List<State>> before = states;
    Map<String, List<State>> next = new HashMap<>();
    for (Map.Entry<String, List<Budget>> e : current.entrySet()) {
      String tenant = e.getKey();
      List<State> old = before.get(tenant);
      boolean again = dirty.remove(tenant) || old == null || !e.getValue().equals(lastBudgets.get(tenant))
          || old.stream().anyMatch(s -> !s.window().end().isAfter(now));
      next.put(tenant, again ? sum(tenant, e.getValue(), now) : old);
      for (Budget b : e.getValue()) {
        String period = b.period().name();
        if (gauges.add(tenant + "|" + period)) metrics.budgetUsed(tenant, period, () -> usedRatio(tenant, period));
      }
    }
    dirty.retainAll(current.keySet());
    lastBudgets = current;
    states = Map.copyOf(next);
  }

  private List<State> sum(String tenant, List<Budget> list, Instant now) {
    List<State> out = new ArrayList<>(list.size());
    for (Budget b : list) {
      BudgetWindows.Window w = BudgetWindows.window(b, now);
      BigDecimal gib = BigDecimal.ZERO;
      long invocations = 0;
      for (UsageRollups.Row row : rollups.rows(tenant, w.start(), w.end()).values()) {
        gib = gib.add(row.totals().gibSeconds());
        invocations += row.totals().invocations();
      }
      out.add(new State(b, w, gib, invocations, BudgetWindows.usedRatio(b, gib, invocations), BudgetWindows.spent(b, gib, invocations)));
    }
    return List.copyOf(out);
  }

  /** The spent, enforced budget that refuses the tenant's new invocations now, the one whose period ends last. */
  public Optional<State> refusal(String tenant) {
    List<State> list = states.get(tenant);
    if (list == null) return Optional.empty();
    State worst = null;
    Instant now = time.now();
    for (State s : list) {
      if (s.refuses() && s.window().end().isAfter(now) && (worst == null || s.window().end().isAfter(worst.window().end()))) worst = s;
    }
    return Optional.ofNullable(worst);
  }

  /** The tenant's budgets in their current periods (empty: it has none). */
  public List<State> states(String tenant) {
    return states.getOrDefault(tenant, List.of());
  }

  /** The largest fraction used of the tenant's budgets over {@code period} (day or month); 0 if none. */
  public double usedRatio(String tenant, String period) {
    double r = 0;
    for (State s : states(tenant)) if (s.budget().period().name().equals(period)) r = Math.max(r, s.usedRatio());
    return r;
  }
}
