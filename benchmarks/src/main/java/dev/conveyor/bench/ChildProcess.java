package dev.conveyor.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A JVM of the benchmark (broker, gateway, baseline) on this machine's classpath. */
final class ChildProcess implements AutoCloseable {
  private final Process process;
  private final String name;

  private ChildProcess(String name, Process process) {
    this.name = name;
    this.process = process;
  }

  static ChildProcess java(String name, String heap, Map<String, String> env, Path log, String... mainAndArgs) {
    return java(name, heap, List.of(), env, log, mainAndArgs);
  }

  /** The same with {@code options} (e.g. an @-file) before the heap and {@code -Dbench.<name>.jvm}, which win over them. */
  static ChildProcess java(String name, String heap, List<String> options, Map<String, String> env, Path log, String... mainAndArgs) {
    // e.g. -Dbench.drain.java=/usr/lib/jvm/temurin-25-jdk-amd64 runs that child on another JDK
    String home = System.getProperty("bench." + name + ".java", System.getProperty("java.home"));
    List<String> cmd = new ArrayList<>(List.of(Path.of(home, "bin", "java").toString()));
    cmd.addAll(options);
    int extraAt = cmd.size() + 2;
    cmd.addAll(List.of(
        // e.g. -Dbench.before.classpath=<an older build's jars> runs that child from another build
        "-Xmx" + heap, "-Xms" + heap, "-cp", System.getProperty("bench." + name + ".classpath", System.getProperty("java.class.path")),
        // temporary files (the RocksDB library a gateway unpacks) in the run's directory, removed with it
        "-Djava.io.tmpdir=" + log.toAbsolutePath().getParent()));
    // e.g. -Dbench.gateway.jvm=-XX:StartFlightRecording=filename=/tmp/gw.jfr to profile one child
    String extra = System.getProperty("bench." + name + ".jvm");
    if (extra != null && !extra.isBlank()) cmd.addAll(extraAt, List.of(extra.trim().split("\\s+")));
    cmd.addAll(List.of(mainAndArgs));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putAll(env);
    try {
      return new ChildProcess(name, pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits until {@code port} accepts connections (bounded). */
  ChildProcess awaitPort(int port, int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) throw new IllegalStateException(name + " exited with " + process.exitValue());
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return this;
      } catch (IOException e) {
        Thread.sleep(200); // polling a child's port during start-up, outside any measurement
      }
    }
    throw new IllegalStateException(name + " did not listen on " + port + " within " + seconds + " s");
  }

  boolean alive() {
    return process.isAlive();
  }

  long pid() {
    return process.pid();
  }

  /** CPU seconds (user + system) this process has used so far, from /proc (Linux). */
  double cpuSeconds() {
    return cpuSeconds(process.pid());
  }

  static double cpuSeconds(long pid) {
    try {
      return statSeconds(Path.of("/proc/" + pid + "/stat"));
    } catch (Exception e) {
      return Double.NaN;
    }
  }

  /** User + system CPU seconds from a process's or a thread's {@code stat} file (utime, stime in USER_HZ ticks). */
  private static double statSeconds(Path statFile) throws java.io.IOException {
    String stat = java.nio.file.Files.readString(statFile);
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
  }

  /**
   * The CPU seconds of {@code pid}'s threads by what they do, from each thread's name in
   * {@code /proc/<pid>/task/<tid>/comm} (cut to 15 characters by the kernel): {@link #THREAD_GROUPS} in
   * order, the first whose prefix matches; threads in none are left out. Empty if the process is gone.
   */
  static Map<String, Double> threadGroupCpuSeconds(long pid) {
    Map<String, Double> seconds = new java.util.LinkedHashMap<>();
    THREAD_GROUPS.forEach((group, prefixes) -> seconds.put(group, 0.0));
    try (var tasks = java.nio.file.Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          String comm = java.nio.file.Files.readString(task.resolve("comm")).strip();
          String group = THREAD_GROUPS.entrySet().stream().filter(e -> e.getValue().stream().anyMatch(comm::startsWith))
              .map(Map.Entry::getKey).findFirst().orElse(null);
          if (group != null) seconds.merge(group, statSeconds(task.resolve("stat")), Double::sum);
        } catch (java.io.IOException gone) {
          // a thread that ended between the listing and the read: its time is no longer counted anywhere
        }
      }
    } catch (java.io.IOException e) {
      return Map.of();
    }
    return seconds;
  }

  /** A gateway's threads by what they do, as {@link #threadGroupCpuSeconds} groups them (names as the kernel cuts them). */
  static final Map<String, List<String>> THREAD_GROUPS;

  static {
    Map<String, List<String>> m = new java.util.LinkedHashMap<>();
    m.put("event loops", List.of("vert.x-eventloo"));
    m.put("usage pipeline (Kafka Streams, RocksDB)", List.of("conveyor-usage-", "rocksdb:"));
    // every producer's network thread: the gateway's and the rollups' (Kafka names them all alike)
    m.put("Kafka producers' I/O", List.of("kafka-producer-"));
    m.put("status reader", List.of("conveyor-status"));
    m.put(Cpu.JIT, List.of("C1 CompilerThre", "C2 CompilerThre"));
    m.put("garbage collector", List.of("GC Thread", "G1 "));
    THREAD_GROUPS = java.util.Collections.unmodifiableMap(m);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
  }
}
