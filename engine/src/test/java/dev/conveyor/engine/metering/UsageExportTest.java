package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UsageExportTest {
  private static final ConveyorConfig CONFIG = ConfigLoader.parse(dev.conveyor.engine.testing.Gateways.yaml("127.0.0.1:1", "t.",
      "[]", null), Map.of());

  @Test
  void badArgumentsExitWith2BeforeTouchingKafka() {
    assertThat(UsageExport.run(new String[] {"usage"}, CONFIG, "127.0.0.1:1")).isEqualTo(2);
    assertThat(UsageExport.run(new String[] {"usage", "export", "--from", "yesterday", "--to", "2026-01-01T00:00:00Z"}, CONFIG,
        "127.0.0.1:1")).isEqualTo(2);
    assertThat(UsageExport.run(new String[] {"usage", "export", "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"},
        CONFIG, "127.0.0.1:1")).isEqualTo(2);
    assertThat(UsageExport.run(new String[] {"usage", "export", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z",
        "--format", "xml"}, CONFIG, "127.0.0.1:1")).isEqualTo(2);
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
