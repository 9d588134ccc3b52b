package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class UsageTotalsTest {
  private static final UsageTotals T = new UsageTotals(3, 5, 2, 2, 1, 1234, new BigDecimal("0.000152587890625"), 1, 4096, -17);

  @Test
  void shouldWriteTheSameJsonAsTheTreeAndReadItBack() throws Exception {
    assertThat(new String(T.bytes(), StandardCharsets.UTF_8)).isEqualTo(new ObjectMapper().writeValueAsString(T.toJson()));
    assertThat(UsageTotals.parse(T.bytes())).isEqualTo(T);
    assertThat(UsageTotals.parse(UsageTotals.ZERO.bytes())).isEqualTo(UsageTotals.ZERO);
  }

  @Test
  void shouldReadAbsentFieldsAsZeroAndSkipUnknownOnes() {
    UsageTotals t = UsageTotals.parse("""
        {"later":{"a":[1,{"b":2}]},"attempts":2,"outcomes":{"success":2,"new":[3]},"gibSeconds":"1.50"}"""
        .getBytes(StandardCharsets.UTF_8));
    assertThat(t).isEqualTo(new UsageTotals(0, 2, 2, 0, 0, 0, new BigDecimal("1.50"), 0, 0, 0));
  }

  @Test
  void shouldRefuseWhatIsNotTotals() {
    assertThatThrownBy(() -> UsageTotals.parse("[1]".getBytes(StandardCharsets.UTF_8))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> UsageTotals.parse("{\"gibSeconds\":\"x\"}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
