package dev.conveyor.engine.it;

import static dev.conveyor.engine.testing.Gateways.ACME_KEY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.api.InvocationIds;
import dev.conveyor.engine.testing.Alone;
import dev.conveyor.engine.testing.AnswerAudit;
import dev.conveyor.engine.testing.FunctionServer;
import dev.conveyor.engine.testing.Gateways;
import dev.conveyor.engine.testing.Http;
import dev.conveyor.engine.testing.KafkaCluster;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A three-node cluster (replication factor 3, min.insync.replicas 2) loses, by SIGKILL under load,
 * the node that leads the tenant's queue partition: writes in flight to it end with their outcome
 * unknown (some were replicated before it died, some not). Every answer must still be true
 * ({@link AnswerAudit}).
 */
@Alone
class ClusterNodeLossIT {

  @Test
  void answersStayTrueWhenTheQueueLeaderIsKilledUnderLoad() throws Exception {
    try (KafkaCluster cluster = new KafkaCluster(Files.createTempDirectory("conveyor-cluster")).start();
         FunctionServer fn = new FunctionServer()) {
      String functions = "- { namespace: acme, name: work, url: \"" + fn.url("/work") + "\" }";
      String prefix = Gateways.prefix("cluster");
      String yaml = Gateways.yaml(cluster.bootstrap(), prefix, functions, null)
          .replace("replicationFactor: 1", "replicationFactor: 3");
      try (Conveyor gw = Gateways.start(yaml)) {
        Http http = new Http(gw.httpPort());
        String probe = new JsonObject(http.invoke(ACME_KEY, "acme", "work", "{\"probe\":1}").body()).getString("id");
        int leader = cluster.leader(prefix + "invocations", InvocationIds.partition(probe, 3));

        // Many writes in flight when the leader dies; the partition moves after the broker session
        // timeout (about 9 s), longer than the producer's 5 s delivery timeout.
        AnswerAudit load = new AnswerAudit(http, ACME_KEY, "acme", "work").start(16, 16, 10);
        await().atMost(Duration.ofSeconds(90)).until(() -> load.answered(202) >= 100);
        cluster.kill(leader);
        long acceptedBefore = load.answered(202);
        // The partition moves to a survivor after the broker session timeout; writing goes on there.
        await().atMost(Duration.ofSeconds(120)).until(() -> load.answered(202) >= acceptedBefore + 100);
        load.stop();
        AnswerAudit.Report r = load.audit(fn);
        assertThat(r.plainAnswers()).containsKey("202");
      }
    }
  }
}
