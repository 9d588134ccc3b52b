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
    assertThat(Billing.billedDurationMs(0, 100)).as("0 ms is never billed up").isZero();
    assertThat(Billing.billedDurationMs(-5, 100)).as("a clock step backwards is 0").isZero();
  }

  @Test
  void shouldComputeGibSecondsExactlyAsDecimalStrings() {
    assertThat(Billing.gibSeconds(37, 256)).isEqualTo("0.009250000");
    assertThat(Billing.gibSeconds(0, 256)).isEqualTo("0.000000000");
    assertThat(Billing.gibSeconds(1000, 1024)).isEqualTo("1.000000000");
    assertThat(Billing.gibSeconds(3_600_000, 10_240)).isEqualTo("36000.000000000");
    assertThat(Billing.gibSeconds(1, 128)).isEqualTo("0.000125000");
    // 1 ms at 1 MiB is 0.0000009765625 GiB-s: nine places, half up.
    assertThat(Billing.gibSeconds(1, 1)).isEqualTo("0.000000977");
    // 3 ms at 1 MiB is 0.0000029296875: half up again, never truncated.
    assertThat(Billing.gibSeconds(3, 1)).isEqualTo("0.000002930");
    // The largest memory Knative allows per container here (32 GiB) for a 15-minute attempt.
    assertThat(Billing.gibSeconds(900_000, 32_768)).isEqualTo("28800.000000000");
  }
}
