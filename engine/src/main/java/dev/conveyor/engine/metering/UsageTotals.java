package dev.conveyor.engine.metering;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
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

  /** The JSON of {@link #toJson}, written field by field (the rollups write one per usage record). */
  public byte[] bytes() {
    return JsonBytes.of(this::write);
  }

  /** Writes these totals as one JSON object, the shape of {@link #toJson}. */
  public void write(JsonGenerator g) throws IOException {
    g.writeStartObject();
    g.writeNumberField("invocations", invocations);
    g.writeNumberField("attempts", attempts);
    g.writeObjectFieldStart("outcomes");
    g.writeNumberField("success", success);
    g.writeNumberField("error", error);
    g.writeNumberField("timeout", timeout);
    g.writeEndObject();
    g.writeNumberField("billedDurationMs", billedDurationMs);
    g.writeStringField("gibSeconds", gibSeconds.toPlainString());
    g.writeNumberField("coldStarts", coldStarts);
    g.writeNumberField("requestBytes", requestBytes);
    g.writeNumberField("responseBytes", responseBytes);
    g.writeEndObject();
  }

  /** Totals from the JSON of {@link #bytes}, read token by token (no tree); absent fields are 0, unknown ones skipped. */
  public static UsageTotals parse(byte[] bytes) {
    try (JsonParser p = JSON.getFactory().createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("not a JSON object");
      long invocations = 0, attempts = 0, success = 0, error = 0, timeout = 0, billed = 0, cold = 0, req = 0, resp = 0;
      BigDecimal gib = BigDecimal.ZERO;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        switch (name) {
          case "invocations" -> invocations = p.getValueAsLong();
          case "attempts" -> attempts = p.getValueAsLong();
          case "billedDurationMs" -> billed = p.getValueAsLong();
          case "gibSeconds" -> gib = new BigDecimal(p.getText());
          case "coldStarts" -> cold = p.getValueAsLong();
          case "requestBytes" -> req = p.getValueAsLong();
          case "responseBytes" -> resp = p.getValueAsLong();
          case "outcomes" -> {
            if (t != JsonToken.START_OBJECT) throw new IOException("outcomes is not an object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String o = p.currentName();
              p.nextToken();
              switch (o) {
                case "success" -> success = p.getValueAsLong();
                case "error" -> error = p.getValueAsLong();
                case "timeout" -> timeout = p.getValueAsLong();
                default -> p.skipChildren();
              }
            }
          }
          default -> p.skipChildren();
        }
      }
      return new UsageTotals(invocations, attempts, success, error, timeout, billed, gib, cold, req, resp);
    } catch (IOException | NumberFormatException e) {
      throw new IllegalArgumentException("not usage totals", e);
    }
  }
}
