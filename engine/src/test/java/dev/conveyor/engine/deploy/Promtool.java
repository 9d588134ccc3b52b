package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Prometheus' promtool (Debian's prometheus package; .ci/run installs it), found on the PATH as
 * PrometheusIT finds prometheus: a test skips without it, unless CONVEYOR_REQUIRE_PROMETHEUS is set
 * (CI), where it fails instead.
 */
final class Promtool {
  record Result(int exit, String output) {}

  private Promtool() {}

  static String binary() {
    String found = null;
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      File f = new File(dir, "promtool");
      if (f.canExecute()) {
        found = f.getPath();
        break;
      }
    }
    if (System.getenv("CONVEYOR_REQUIRE_PROMETHEUS") == null) {
      Assumptions.assumeTrue(found != null, "promtool is not installed (apt-get install prometheus); .ci/run installs it");
    }
    assertThat(found).as("promtool on the PATH").isNotNull();
    return found;
  }

  /** Runs {@code promtool args...} in {@code dir}; its output (stdout and stderr) and exit code. */
  static Result run(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(binary());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes(); // until promtool closes it, i.e. exits
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("promtool " + args[0] + " did not finish within 60 s");
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
