package dev.conveyor.engine.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The gateway's JVM options file ({@code config/jvm.options}): a JVM starts with it (an option this
 * JVM does not know would stop every gateway from starting), it sets the collector as documented,
 * and the launcher and the image both pass it.
 */
class JvmOptionsTest {
  private static final Path ROOT = Path.of("..");
  private static final Path OPTIONS = ROOT.resolve("config/jvm.options");

  @Test
  void aJvmStartsWithItAndRunsG1WithAFixedMarkingThresholdAndAPauseTarget() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    // One CPU, as a pod with a CPU limit of 1 has: the JVM alone would pick the serial collector.
    Process p = new ProcessBuilder(java.toString(), "-XX:ActiveProcessorCount=1", "@" + OPTIONS.toAbsolutePath(),
        "-XX:+PrintFlagsFinal", "-version")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(flag(out, "UseG1GC")).isEqualTo("true");
    assertThat(flag(out, "G1UseAdaptiveIHOP")).isEqualTo("false");
    assertThat(flag(out, "InitiatingHeapOccupancyPercent")).isEqualTo("55");
    assertThat(flag(out, "MaxGCPauseMillis")).isEqualTo("50");
  }

  @Test
  void theLauncherAndTheImagePassIt() throws IOException {
    assertThat(Files.readString(ROOT.resolve("bin/conveyor"))).contains("@$root/config/jvm.options");
    List<String> image = Files.readAllLines(ROOT.resolve("deploy/Dockerfile"));
    assertThat(image).contains("COPY config/jvm.options jvm.options");
    assertThat(image).anySatisfy(l -> assertThat(l).startsWith("ENTRYPOINT [\"java\", \"@/opt/conveyor/jvm.options\""));
  }

  /** A flag's value in -XX:+PrintFlagsFinal's table ({@code type name = value {origin}}). */
  private static String flag(String table, String name) {
    return table.lines().map(String::trim).filter(l -> l.matches("\\S+\\s+" + name + "\\s+=.*")).findFirst()
        .map(l -> l.split("=", 2)[1].trim().split("\\s+")[0]).orElseThrow(() -> new AssertionError(name + " not in the flags"));
  }
}
