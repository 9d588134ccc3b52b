package dev.conveyor.engine.attempt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conveyor.engine.attempt.Verdict.Kind;
import dev.conveyor.engine.invoke.AttemptResult;
import dev.conveyor.engine.observability.ColdStarts;
import io.vertx.core.buffer.Buffer;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KnativeAnswersTest {
  private static AttemptResult.Response answer(int status, String body) {
    return new AttemptResult.Response(status, "text/plain; charset=utf-8", null, Buffer.buffer(body), body.length());
  }

  @Test
  void shouldTellTheActivatorsAndQueueProxysAnswersFromTheFunctions() {
    // The bodies knative/serving writes (http.Error adds a newline; the timeout handler does not).
    assertThat(KnativeAnswers.platform(answer(504, "activator request timeout"), false)).contains(Kind.ACTIVATOR_TIMEOUT);
    assertThat(KnativeAnswers.platform(answer(503, "pending request queue full\n"), false)).contains(Kind.OVERLOADED);
    assertThat(KnativeAnswers.platform(answer(404,
        "Error getting active endpoint: revision.serving.knative.dev \"resize-00001\" not found\n"), false)).contains(Kind.NOT_READY);
    assertThat(KnativeAnswers.platform(answer(503, "whatever the ingress says"), true)).as("at zero").contains(Kind.NOT_READY);
  }

  @Test
  void shouldLeaveTheFunctionsOwnFailuresToTheFunction() {
    assertThat(KnativeAnswers.platform(answer(503, "{\"error\":\"db down\"}"), false)).isEmpty();
    assertThat(KnativeAnswers.platform(answer(404, "no such order"), false)).isEmpty();
    assertThat(KnativeAnswers.platform(answer(504, "request timeout"), false)).as("queue-proxy: the function ran too long").isEmpty();
    assertThat(KnativeAnswers.platform(answer(504, "request timeout"), true)).as("even at zero").isEmpty();
    assertThat(KnativeAnswers.platform(answer(500, "pending request queue full"), false)).isEmpty();
    assertThat(KnativeAnswers.platform(new AttemptResult.Timeout(30_000), true)).isEqualTo(Optional.empty());
  }

  @Test
  void coldStartIsServerTimingFirstThenTheSeenReadinessThenTheFirstByte() {
    Instant start = Instant.parse("2026-12-03T10:00:00Z");
    var timed = new AttemptResult.Response(200, null, null, Buffer.buffer(), 0, 40_200, "app;dur=150");
    var plain = new AttemptResult.Response(200, null, null, Buffer.buffer(), 0, 40_200, null);
    assertThat(ColdStarts.millis(timed, start, start.plusMillis(39_000))).as("the function's own time is exact").isEqualTo(40_050);
    assertThat(ColdStarts.millis(plain, start, start.plusMillis(40_010))).as("the pod was seen ready then").isEqualTo(40_010);
    assertThat(ColdStarts.millis(plain, start, start.plusMillis(41_000))).as("never later than the first byte").isEqualTo(40_200);
    assertThat(ColdStarts.millis(plain, start, start.minusMillis(5))).as("ready before this attempt: not its hold").isEqualTo(40_200);
    assertThat(ColdStarts.millis(plain, start, null)).isEqualTo(40_200);
  }
}
