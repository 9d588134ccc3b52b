package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UsageExportTest {
  private static final ConveyorConfig CONFIG = ConfigLoader.parse(dev.conveyor.engine.testing.Gateways.yaml("127.0.0.1:1", "t.",
      "[]", null), Map.of());

  @Test
  void aBadRangeOrAnExistingOutFileWithoutForceExitWith2BeforeTouchingKafka() throws Exception {
    StringWriter err = new StringWriter();
    Instant from = Instant.parse("2026-01-02T00:00:00Z");
    Instant to = Instant.parse("2026-01-01T00:00:00Z");
    assertThat(UsageExport.run(CONFIG, "127.0.0.1:1", from, to, "csv", null, null, false, new StringWriter(), new PrintWriter(err, true)))
        .isEqualTo(2);
    assertThat(err.toString()).isEqualTo("conveyor: --from must be before --to" + System.lineSeparator());

    Path out = Files.createTempFile("usage", ".csv");
    Files.writeString(out, "last month's bill");
    err.getBuffer().setLength(0);
    assertThat(UsageExport.run(CONFIG, "127.0.0.1:1", to, from, "csv", null, out, false, new StringWriter(), new PrintWriter(err, true)))
        .isEqualTo(2);
    assertThat(err.toString()).contains(out + " exists: give --force to overwrite it");
    assertThat(Files.readString(out)).as("left as it was").isEqualTo("last month's bill");
  }

  @Test
  void csvRowsFollowTheColumnsAndQuoteWhatNeedsIt() throws Exception {
    var ce = new ObjectMapper().readTree("""
        {"type":"dev.conveyor.invocation.usage.v1","id":"i:1","time":"2026-01-01T00:00:00.000Z",
         "data":{"tenant":"acme","namespace":"acme","function":"f","revision":null,"invocationId":"i","attempt":1,
                 "mode":"async","trigger":"http","outcome":"success","httpStatus":200,"durationMs":3,"billedDurationMs":3,
                 "coldStart":false,"coldStartMs":0,"queueWaitMs":1,"memoryMiB":128,"gibSeconds":"0.000375000",
                 "requestBytes":2,"responseBytes":2,"idempotencyKey":"a,\\"b"}}
        """);
    String row = UsageExport.csv(ce);
    assertThat(row.split(",", -1)).hasSize(UsageExport.COLUMNS.size());
    assertThat(row).startsWith("dev.conveyor.invocation.usage.v1,i:1,2026-01-01T00:00:00.000Z,acme,acme,f,,i,1,async,http,success,200,3,3,false,0,1,128,0.000375000,2,2,,");
  }
}
