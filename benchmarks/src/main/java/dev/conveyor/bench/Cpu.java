package dev.conveyor.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CPU time the processes of a run spent over a measured interval, in milliseconds per 1,000
 * requests: performance is judged as CPU per request beside a baseline of the same run, since on a
 * shared 2-core box throughput is only the two cores divided by what every process spends. Each
 * process is named by its role, in the reports' column order: {@code server} (the one under test),
 * {@code broker}, {@code function} (when the server under test calls one), {@code load} (this JVM:
 * the load generator and the harness).
 */
final class Cpu {
  static final String SERVER = "server";
  static final String BROKER = "broker";
  static final String FUNCTION = "function";
  static final String LOAD = "load";
  /** The reports' column order. */
  static final List<String> ORDER = List.of(SERVER, BROKER, FUNCTION, LOAD);

  /** One interval of one target (a round, a step, a window): CPU ms per 1,000 requests by process. */
  record Sample(String target, int round, Map<String, Double> msPer1k) {}

  /** The server's threads that compile (HotSpot's C1 and C2): a JVM keeps compiling for a minute or more under load. */
  static final String JIT = "JIT compiler";

  /** CPU seconds of every process at one instant, in {@link #pids}' order (the server first), and of the server's threads by group. */
  record Mark(double[] seconds, Map<String, Double> serverThreads) {
    double serverJitSeconds() {
      return serverThreads.getOrDefault(JIT, Double.NaN);
    }
  }

  private final Map<String, Long> pids;

  private Cpu(Map<String, Long> pids) {
    this.pids = pids;
  }

  /**
   * {@code server} and the {@code others} by role, then this JVM as {@code load}. A process that is
   * the server under test itself (the function called directly) is left out of the others, so its
   * CPU is not counted twice.
   */
  static Cpu of(ChildProcess server, Map<String, ChildProcess> others) {
    Map<String, Long> pids = new LinkedHashMap<>();
    pids.put(SERVER, server.pid());
    others.forEach((role, p) -> {
      if (p != null && p.pid() != server.pid()) pids.put(role, p.pid());
    });
    pids.put(LOAD, ProcessHandle.current().pid());
    return new Cpu(pids);
  }

  Mark mark() {
    return new Mark(pids.values().stream().mapToDouble(ChildProcess::cpuSeconds).toArray(),
        ChildProcess.threadGroupCpuSeconds(pids.get(SERVER)));
  }

  /** Of the server's CPU between {@code from} and {@code to}, what its JIT compiler threads spent, in ms per 1,000 of {@code requests}. */
  double serverJitPer1k(Mark from, Mark to, long requests) {
    double k = Math.max(1, requests) / 1000.0;
    return Math.round((to.serverJitSeconds() - from.serverJitSeconds()) * 1000 / k * 10) / 10.0;
  }

  /**
   * The server's CPU between {@code from} and {@code to} by thread group ({@link ChildProcess#THREAD_GROUPS}),
   * in ms per 1,000 of {@code requests}: where a gateway's time went. {@code other} is the process's
   * CPU beyond the named groups (threads that ended in between included), so the groups add up to it.
   */
  Map<String, Double> serverThreadsPer1k(Mark from, Mark to, long requests) {
    Map<String, Double> ms = new LinkedHashMap<>();
    double k = Math.max(1, requests) / 1000.0;
    double named = 0;
    for (String group : ChildProcess.THREAD_GROUPS.keySet()) {
      double s = to.serverThreads().getOrDefault(group, 0.0) - from.serverThreads().getOrDefault(group, 0.0);
      named += s;
      ms.put(group, Math.round(s * 1000 / k * 10) / 10.0);
    }
    ms.put("other", Math.round((to.seconds()[0] - from.seconds()[0] - named) * 1000 / k * 10) / 10.0);
    return ms;
  }

  /** Each process's CPU between {@code from} and {@code to}, in ms per 1,000 of {@code requests}. */
  Map<String, Double> per1k(Mark from, Mark to, long requests) {
    Map<String, Double> ms = new LinkedHashMap<>();
    double k = Math.max(1, requests) / 1000.0;
    int i = 0;
    for (String role : pids.keySet()) {
      ms.put(role, Math.round((to.seconds()[i] - from.seconds()[i]) * 1000 / k * 10) / 10.0);
      i++;
    }
    return ms;
  }

  /** The same for stderr: {@code server 41 broker 14 load 17}. */
  static String format(Map<String, Double> msPer1k) {
    StringBuilder s = new StringBuilder();
    msPer1k.forEach((role, ms) -> s.append(s.isEmpty() ? "" : " ").append(role).append(' ').append(Math.round(ms)));
    return s.toString();
  }
}
