package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conveyor.engine.api.Invocation;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.Validator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The records Conveyor writes satisfy the published schema (config/usage-record.schema.json), and broken ones do not. */
public class UsageSchemaTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static Validator validator() throws Exception {
    Path schema = Path.of("..", "config", "usage-record.schema.json");
    return Validator.create(JsonSchema.of(new JsonObject(Files.readString(schema))),
        new JsonSchemaOptions().setDraft(Draft.DRAFT202012).setBaseUri("https://conveyor.dev/schemas/"));
  }

  private static ObjectNode usage() {
    Invocation inv = new Invocation("0190f1a2-7b3c-7d4e-8f5a-6b7c8d9e0f1a", "acme", "acme", "resize", "application/json",
        new byte[512], null, Map.of(), Instant.parse("2026-11-27T10:00:00Z"), null,
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", null, "http");
    return new UsageEmitter(null, "conveyor.usage", "//conveyor/test", 1).event(new UsageEmitter.Attempt(inv, 1, InvocationMode.async, "http",
        AttemptOutcome.success, 200, Instant.parse("2026-11-27T10:00:01Z"), Instant.parse("2026-11-27T10:00:01.037Z"), true, 812, 4, 256, 512,
        2048, "resize-00003"));
  }

  private static boolean valid(Validator v, ObjectNode n) {
    return v.validate(new JsonObject(n.toString())).getValid();
  }

  @Test
  void theRecordsConveyorWritesAreValid() throws Exception {
    Validator v = validator();
    assertThat(valid(v, usage())).isTrue();
    UsageAdjustments adj = new UsageAdjustments(null, "conveyor.usage", "//conveyor/test", new dev.conveyor.engine.testing.ManualTime(Instant.parse("2026-11-27T11:00:00Z")));
    assertThat(valid(v, adj.event("adj-1", "acme", "0190f1a2-7b3c-7d4e-8f5a-6b7c8d9e0f1a:1", "void", null, "duplicate"))).isTrue();
    ObjectNode delta = JSON.createObjectNode().put("billedDurationMs", -10).put("gibSeconds", "-0.002500000");
    assertThat(valid(v, adj.event("adj-2", "acme", "0190f1a2-7b3c-7d4e-8f5a-6b7c8d9e0f1a:1", "delta", delta, null))).isTrue();
  }

  @Test
  void brokenRecordsAreNot() throws Exception {
    Validator v = validator();
    ObjectNode floatGib = usage();
    ((ObjectNode) floatGib.get("data")).put("gibSeconds", 0.00925);
    assertThat(valid(v, floatGib)).as("gibSeconds as a float").isFalse();
    ObjectNode noAttempt = usage();
    ((ObjectNode) noAttempt.get("data")).remove("attempt");
    assertThat(valid(v, noAttempt)).as("no attempt").isFalse();
    ObjectNode badOutcome = usage();
    ((ObjectNode) badOutcome.get("data")).put("outcome", "maybe");
    assertThat(valid(v, badOutcome)).as("unknown outcome").isFalse();
    UsageAdjustments adj = new UsageAdjustments(null, "conveyor.usage", "//conveyor/test", dev.conveyor.engine.time.Time.clocks());
    assertThat(valid(v, adj.event("adj-3", "acme", "x:1", "delta", null, null))).as("a delta without amounts").isFalse();
  }
}
