package dev.conveyor.engine.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Rfc3339Test {
  @Test
  void writesWhatInstantToStringAndTheFormatterWrite() {
    SplittableRandom random = new SplittableRandom(7);
    long from = Instant.parse("1000-01-01T00:00:00Z").toEpochMilli();
    long to = Instant.parse("9999-12-31T23:59:59.999Z").toEpochMilli();
    for (int i = 0; i < 100_000; i++) {
      long ms = random.nextLong(from, to);
      // a third of them on a whole second, where Instant.toString writes no fraction
      Instant t = Instant.ofEpochMilli(i % 3 == 0 ? ms - Math.floorMod(ms, 1000) : ms);
      assertThat(Rfc3339.instant(t)).as(t.toString()).isEqualTo(t.toString());
      assertThat(Rfc3339.millis(t)).isEqualTo(Rfc3339.MILLIS.format(t));
    }
    Instant nanos = Instant.parse("2026-03-01T10:00:00.123456789Z");
    assertThat(Rfc3339.instant(nanos)).isEqualTo("2026-03-01T10:00:00.123456789Z");
    assertThat(Rfc3339.instant(Instant.parse("2026-03-01T10:00:00.120Z"))).isEqualTo("2026-03-01T10:00:00.120Z");
    assertThat(Rfc3339.millis(Instant.parse("2026-03-01T10:00:00Z"))).isEqualTo("2026-03-01T10:00:00.000Z");
    assertThat(Rfc3339.instant(Instant.parse("+10000-01-01T00:00:00Z"))).isEqualTo("+10000-01-01T00:00:00Z");
  }
}
