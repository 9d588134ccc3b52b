package dev.conveyor.engine.metering;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BillingTest {
  @Test
  void shouldRoundUpToTheGranularity() {
    assertThat(Billing.billedDurationMs(0, 1)).isZero();
    assertThat(Billing.billedDurationMs(37, 1)).isEqualTo(37);
    assertThat(Billing.billedDurationMs(1, 100)).isEqualTo(100);
    assertThat(Billing.billedDurationMs(100, 100)).isEqualTo(100);
    assertThat(Billing.billedDurationMs(101, 100)).isEqualTo(200);
  }

  @Test
  void shouldComputeGibSecondsExactlyAsDecimalStrings() {
    assertThat(Billing.gibSeconds(37, 256)).isEqualTo("0.009250000");
    assertThat(Billing.gibSeconds(0, 256)).isEqualTo("0.000000000");
    assertThat(Billing.gibSeconds(1000, 1024)).isEqualTo("1.000000000");
    assertThat(Billing.gibSeconds(3_600_000, 10_240)).isEqualTo("36000.000000000");
    assertThat(Billing.gibSeconds(1, 128)).isEqualTo("0.000125000");
  }
}
