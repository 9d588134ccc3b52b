package dev.conveyor.engine.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.Ports;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A new user's commands, exactly as README.md gives them: {@code bin/conveyor up} with the shipped
 * config serves an async invocation of {@code echo} end to end and stops with exit 0 on SIGTERM;
 * {@code bin/conveyor demo} runs its tour and exits 0. Runs after {@code package}, so the jar exists.
 */
@Alone
class CommandLineIT {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  private static ProcessBuilder conveyor(Path dir, String... args) {
    String[] cmd = new String[args.length + 1];
    cmd[0] = ROOT.resolve("bin/conveyor").toString();
    System.arraycopy(args, 0, cmd, 1, args.length);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("out.log").toFile());
    pb.environment().put("CONVEYOR_DATA_DIR", dir.resolve("data").toString());
    return pb;
  }

  @Test
  void upServesAnInvocationOfEchoWithTheShippedConfigAndStopsCleanly() throws Exception {
    Assumptions.assumeTrue(free(8081), "the shipped config serves the samples on 8081, which is taken here");
    Path dir = Files.createTempDirectory("conveyor-up");
    int[] ports = Ports.free(3);
    int http = ports[0];
    int admin = ports[1];
    ProcessBuilder pb = conveyor(dir, "up");
    pb.environment().put("CONVEYOR_HTTP_PORT", Integer.toString(http));
    pb.environment().put("CONVEYOR_ADMIN_PORT", Integer.toString(admin));
    pb.environment().put("CONVEYOR_EMBEDDED_KAFKA_PORT", Integer.toString(ports[2]));
    Process p = pb.start();
    try {
      Http adminHttp = new Http(admin);
      await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
          .until(() -> adminHttp.get("/readyz", null).statusCode() == 200);
      Http api = new Http(http);
      HttpResponse<String> r = api.invoke("demo-key", "demo", "echo", "{\"hello\":\"world\"}");
      assertThat(r.statusCode()).isEqualTo(202);
      String id = new JsonObject(r.body()).getString("id");
      await().atMost(Duration.ofSeconds(30)).until(() -> "succeeded".equals(api.status(id, "demo-key").getString("status")));
      assertThat(api.get("/v1/invocations/" + id + "/result", "demo-key").body()).isEqualTo("{\"hello\":\"world\"}");
      assertThat(adminHttp.get("/metrics", null).body())
          .contains("conveyor_invocations_accepted_total{k8s_namespace_name=\"demo\",kn_service_name=\"echo\",tenant=\"demo\"} 1.0")
          .contains("conveyor_usage_records_total{tenant=\"demo\"} 1.0");
      p.destroy();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isZero();
      assertThat(Files.exists(dir.resolve("data/kafka/meta.properties"))).isTrue();
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void demoRunsItsTourAndExitsZero() throws Exception {
    Path dir = Files.createTempDirectory("conveyor-demo-it");
    Process p = conveyor(dir, "demo", "--count", "300").start();
    assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(dir.resolve("out.log"));
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains("| accepted (202)            |          300 |").contains("usage GiB-s").contains("not finished              |            0");
    // Only the tour's own lines: the broker's and the libraries' log goes to the file it names.
    assertThat(out).as("no log line in the tour's output").doesNotContain("\"level\"").doesNotContain("WARN").doesNotContain("ERROR")
        .contains("their log: ");
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
