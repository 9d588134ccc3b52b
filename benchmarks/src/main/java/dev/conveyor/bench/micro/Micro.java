package dev.conveyor.bench.micro;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * {@code benchmarks/run.sh micro [regex]}: runs the JMH microbenchmarks (all, or those matching
 * the regex) and writes benchmarks/results/micro.md.
 */
public final class Micro {
  private Micro() {}

  public static void main(String[] args) throws Exception {
    String include = args.length > 0 ? args[0] : "dev.conveyor.bench.micro.*";
    Collection<RunResult> results = new Runner(new OptionsBuilder().include(include).build()).run();
    StringBuilder md = new StringBuilder("| JMH benchmark | parameters | score | error (99.9%) | unit |\n|---|---|---:|---:|---|\n");
    for (RunResult r : results) {
      var p = r.getParams();
      String params = String.join(", ", p.getParamsKeys().stream().map(k -> k + "=" + p.getParam(k)).toList());
      var s = r.getPrimaryResult();
      md.append("| %s | %s | %.3f | %.3f | %s |%n".formatted(p.getBenchmark().replace("dev.conveyor.bench.micro.", ""), params,
          s.getScore(), s.getScoreError(), s.getScoreUnit()));
    }
    md.append("\n`benchmarks/run.sh micro` on ").append(Runtime.getRuntime().availableProcessors()).append(" cores, Java ")
        .append(System.getProperty("java.version")).append(".\n");
    Path out = Path.of("benchmarks/results");
    Files.createDirectories(out);
    Files.writeString(out.resolve("micro.md"), md);
    System.out.println(md);
  }
}
