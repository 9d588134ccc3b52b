package dev.conveyor.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * What a real gateway answers only when Kafka fails (a stub server stands in for it), and the
 * command line's own conversions.
 */
class CliTest {
  record Run(int code, String out, String err) {}

  static Run run(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Cli.run(args, env, new ByteArrayInputStream(new byte[0]), new PrintWriter(out, true), new PrintWriter(err, true), false);
    return new Run(code, out.toString(), err.toString());
  }

  /**
   * The script completes in a real bash: under conveyor, kn-conveyor and {@code kn conveyor}, and it
   * hands every other kn line to the completion kn registered before it.
   */
  @Test
  void completionCompletesInBashUnderEveryNameAndLeavesKnItsOwn() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("conveyor-completion");
    java.nio.file.Path script = dir.resolve("conveyor.bash");
    // started as the kn plugin: the script is the same
    Run r = run(Map.of("CONVEYOR_CLI_NAME", "kn conveyor"), "completion");
    assertThat(r.code()).isZero();
    java.nio.file.Files.writeString(script, r.out());
    String probe = String.join("\n",
        "_fake_kn() { COMPREPLY=(kn-own); }",
        "complete -F _fake_kn kn",
        "source \"$1\"",
        "try() { COMP_LINE=\"$*\"; read -ra COMP_WORDS <<< \"$*\"; COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=();",
        "  f=$(complete -p \"${COMP_WORDS[0]##*/}\" | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p'); \"$f\"; echo \"$*=${COMPREPLY[*]}\"; }",
        "try conveyor dl", "try bin/conveyor inv", "try kn-conveyor res", "try kn conveyor dl", "try kn conveyor dlq re",
        "try kn serv", "");
    Process p = new ProcessBuilder("bash", "-c", probe, "probe", script.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    assertThat(out.lines()).containsExactly("conveyor dl=dlq", "bin/conveyor inv=invoke", "kn-conveyor res=result",
        "kn conveyor dl=dlq", "kn conveyor dlq re=redrive", "kn serv=kn-own");
  }

  @Test
  void storeOutcomeUnknownSaysSoAndWhatToDo() throws Exception {
    List<String> auth = new CopyOnWriteArrayList<>();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      auth.add(ex.getRequestHeaders().getFirst("authorization"));
      byte[] body = "{\"error\":\"store_outcome_unknown\",\"message\":\"Kafka did not confirm.\",\"id\":\"0193-abc\"}"
          .getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("content-type", "application/json");
      ex.getResponseHeaders().add("retry-after", "1");
      ex.sendResponseHeaders(503, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();
    try {
      Map<String, String> env = Map.of("CONVEYOR_URL", "http://127.0.0.1:" + server.getAddress().getPort() + "/", "CONVEYOR_TOKEN", "k1",
          "HOME", "/nonexistent");
      Run plain = run(env, "invoke", "acme/echo", "--data", "{}");
      assertThat(plain.code()).isEqualTo(Cli.UNKNOWN);
      assertThat(plain.err()).contains("could not confirm that invocation 0193-abc was stored (store_outcome_unknown)")
          .contains("'conveyor status 0193-abc'").contains("404 invocation_not_stored means it never will: send it again")
          .hasLineCount(1);
      Run keyed = run(env, "invoke", "acme/echo", "--data", "{}", "--idempotency-key", "k-1", "--wait");
      assertThat(keyed.code()).isEqualTo(Cli.UNKNOWN);
      assertThat(keyed.err()).contains("Send it again with the same --idempotency-key");
      assertThat(auth).containsOnly("Bearer k1");
    } finally {
      server.stop(0);
    }
  }

  @Test
  void durationsAreHumanOrIso() {
    assertThat(Cli.duration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Cli.duration("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Cli.duration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Cli.duration("PT2M")).isEqualTo(Duration.ofMinutes(2));
    assertThatThrownBy(() -> Cli.duration("5 minutes")).hasMessageContaining("is not a duration");
    assertThatThrownBy(() -> Cli.duration("s")).hasMessageContaining("is not a duration");
  }
}
