package dev.conveyor.engine.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigDecimal;

/**
 * What usage records add up to: counts, billed time, GiB-seconds (exact decimals: the sum of the
 * records' own strings, so a rollup equals the sum of its records to the last digit) and bytes.
 * Immutable; {@link #plus} and {@link #minus} make new totals. One record contributes one attempt,
 * and one invocation if it is the invocation's first attempt ({@code UsageRollupTopology.Data}).
 */
public record UsageTotals(long invocations, long attempts, long success, long error, long timeout, long billedDurationMs,
    BigDecimal gibSeconds, long coldStarts, long requestBytes, long responseBytes) {

  private static final ObjectMapper JSON = new ObjectMapper();
  public static final UsageTotals ZERO = new UsageTotals(0, 0, 0, 0, 0, 0, BigDecimal.ZERO, 0, 0, 0);

  /** A correction's delta: any of the fields, usually negative; absent ones are 0. */
  public static UsageTotals delta(JsonNode d) {
    return new UsageTotals(d.path("invocations").asLong(), d.path("attempts").asLong(), d.path("success").asLong(),
        d.path("error").asLong(), d.path("timeout").asLong(), d.path("billedDurationMs").asLong(),
        new BigDecimal(d.path("gibSeconds").asText("0")), d.path("coldStarts").asLong(), d.path("requestBytes").asLong(),
        d.path("responseBytes").asLong());
  }

  public UsageTotals plus(UsageTotals o) {
    return new UsageTotals(invocations + o.invocations, attempts + o.attempts, success + o.success, error + o.error,
        timeout + o.timeout, billedDurationMs + o.billedDurationMs, gibSeconds.add(o.gibSeconds), coldStarts + o.coldStarts,
        requestBytes + o.requestBytes, responseBytes + o.responseBytes);
  }

  public UsageTotals minus(UsageTotals o) {
    return plus(new UsageTotals(-o.invocations, -o.attempts, -o.success, -o.error, -o.timeout, -o.billedDurationMs,
        o.gibSeconds.negate(), -o.coldStarts, -o.requestBytes, -o.responseBytes));
  }

  public ObjectNode toJson() {
    ObjectNode n = JSON.createObjectNode();
    n.put("invocations", invocations);
    n.put("attempts", attempts);
    ObjectNode o = n.putObject("outcomes");
    o.put("success", success);
    o.put("error", error);
    o.put("timeout", timeout);
    n.put("billedDurationMs", billedDurationMs);
    n.put("gibSeconds", gibSeconds.toPlainString());
    n.put("coldStarts", coldStarts);
    n.put("requestBytes", requestBytes);
    n.put("responseBytes", responseBytes);
    return n;
  }

  public static UsageTotals fromJson(JsonNode n) {
    JsonNode o = n.path("outcomes");
    return new UsageTotals(n.path("invocations").asLong(), n.path("attempts").asLong(), o.path("success").asLong(),
        o.path("error").asLong(), o.path("timeout").asLong(), n.path("billedDurationMs").asLong(),
        new BigDecimal(n.path("gibSeconds").asText("0")), n.path("coldStarts").asLong(), n.path("requestBytes").asLong(),
        n.path("responseBytes").asLong());
  }

  public byte[] bytes() {
    try {
      return JSON.writeValueAsBytes(toJson());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static UsageTotals parse(byte[] bytes) {
    try {
      return fromJson(JSON.readTree(bytes));
    } catch (IOException e) {
      throw new IllegalArgumentException("not usage totals", e);
    }
  }
}
