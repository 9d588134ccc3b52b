package dev.conveyor.bench.micro;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * {@code benchmarks/run.sh micro [regex]}: runs the JMH microbenchmarks (all, or those matching
 * the regex) and writes benchmarks/results/micro.md: the rows of the benchmarks that ran replace
 * theirs, the others' rows stay.
 */
public final class Micro {
  private Micro() {}

  public static void main(String[] args) throws Exception {
    String include = args.length > 0 ? args[0] : "dev.conveyor.bench.micro.*";
    Collection<RunResult> results = new Runner(new OptionsBuilder().include(include).build()).run();
    Path out = Path.of("benchmarks/results");
    Files.createDirectories(out);
    Path file = out.resolve("micro.md");
    // Rows by benchmark: what ran now, and the earlier rows of the benchmarks that did not run.
    Map<String, List<String>> rows = new TreeMap<>();
    if (Files.exists(file)) {
      for (String line : Files.readAllLines(file)) {
        int end = line.indexOf(" |", 2);
        if (!line.startsWith("| ") || line.startsWith("| JMH benchmark") || end < 0) continue;
        rows.computeIfAbsent(line.substring(2, end), k -> new ArrayList<>()).add(line);
      }
    }
    Set<String> ran = new HashSet<>();
    for (RunResult r : results) {
      var p = r.getParams();
      String name = p.getBenchmark().replace("dev.conveyor.bench.micro.", "");
      if (ran.add(name)) rows.put(name, new ArrayList<>());
      String params = String.join(", ", p.getParamsKeys().stream().map(k -> k + "=" + p.getParam(k)).toList());
      var s = r.getPrimaryResult();
      rows.get(name).add("| %s | %s | %.3f | %.3f | %s |".formatted(name, params, s.getScore(), s.getScoreError(), s.getScoreUnit()));
    }
    StringBuilder md = new StringBuilder("| JMH benchmark | parameters | score | error (99.9%) | unit |\n|---|---|---:|---:|---|\n");
    rows.values().forEach(list -> list.forEach(line -> md.append(line).append('\n')));
    md.append("\n`benchmarks/run.sh micro` on ").append(Runtime.getRuntime().availableProcessors()).append(" cores, Java ")
        .append(System.getProperty("java.version")).append(".\n");
    Files.writeString(file, md);
    System.out.println(md);
  }
}
