package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.AnswerAudit;
import dev.conveyor.engine.testing.BrokerProcess;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The single broker frozen (SIGSTOP) under load, then thawed: what it held in its sockets it appends
 * when it resumes, after the gateway's producer gave up on it. Every answer must still be true
 * ({@link AnswerAudit}): nothing told "not stored" runs, every unknown outcome settles by lookup, and
 * clients that retry with an idempotency key get one run per key.
 */
@Alone
class FrozenBrokerIT {

  @Test
  void answersStayTrueWhenTheBrokerFreezesUnderLoad() throws Exception {
    try (BrokerProcess broker = new BrokerProcess(Files.createTempDirectory("conveyor-frozen")).start();
         FunctionServer fn = new FunctionServer()) {
      String functions = "- { namespace: acme, name: work, url: \"" + fn.url("/work") + "\" }";
      try (Conveyor gw = Gateways.start(Gateways.yaml(broker.bootstrap(), Gateways.prefix("frozen"), functions, null))) {
        Http http = new Http(gw.httpPort());
        // 16 plain and 16 careful clients, each sending again 10 ms after its answer: many writes in
        // flight when the broker freezes, as under real load.
        AnswerAudit load = new AnswerAudit(http, ACME_KEY, "acme", "work").start(16, 16, 10);
        for (int freeze = 0; freeze < 2; freeze++) {
          long accepted = load.answered(202);
          await().atMost(Duration.ofSeconds(60)).until(() -> load.answered(202) >= accepted + 250);
          broker.freeze();
          long refused = load.answered(503);
          // Held beyond the producer's 5 s delivery timeout, so writes in flight give up with their outcome unknown.
          await().pollDelay(Duration.ofSeconds(8)).atMost(Duration.ofSeconds(60)).until(() -> load.answered(503) > refused + 50);
          broker.thaw();
        }
        long acceptedBefore = load.answered(202);
        await().atMost(Duration.ofSeconds(90)).until(() -> load.answered(202) >= acceptedBefore + 250);
        load.stop();
        AnswerAudit.Report r = load.audit(fn);
        assertThat(r.plainAnswers()).containsKey("202");
        assertThat(r.plainAnswers().keySet()).as("the freeze refused requests").anyMatch(s -> s.startsWith("503"));
      }
    }
  }
}
