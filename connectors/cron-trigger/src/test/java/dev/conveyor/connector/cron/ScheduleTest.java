package dev.conveyor.connector.cron;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conveyor.connector.cron.Schedule.Missed;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScheduleTest {
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

  private static Schedule of(String cron, ZoneId zone, Missed missed) {
    return new Schedule(cron, zone, missed, Duration.ofHours(1));
  }

  @Test
  void fiveFieldsAreUnixCronInTheScheduleTimeZone() {
    Schedule nightly = of("0 2 * * *", BERLIN, Missed.fireLast);
    // 02:00 in Berlin is 01:00Z in winter (CET) and 00:00Z in summer (CEST).
    assertThat(nightly.after(Instant.parse("2026-01-10T12:00:00Z"))).contains(Instant.parse("2026-01-11T01:00:00Z"));
    assertThat(nightly.after(Instant.parse("2026-07-10T12:00:00Z"))).contains(Instant.parse("2026-07-11T00:00:00Z"));
  }

  @Test
  void sixFieldsPutSecondsFirst() {
    Schedule every5s = of("*/5 * * * * *", ZoneId.of("UTC"), Missed.fireLast);
    assertThat(every5s.after(Instant.parse("2026-01-10T12:00:01Z"))).contains(Instant.parse("2026-01-10T12:00:05Z"));
  }

  @Test
  void daylightSavingTimeGapsAndRepeatsAreWalkedAsTheCalendarSays() {
    Schedule s = of("30 2 * * *", BERLIN, Missed.fireAll);
    // 2026-03-29 in Berlin: 02:00 jumps to 03:00, so 02:30 does not exist that day and does not fire.
    assertThat(s.due(Instant.parse("2026-03-28T00:00:00Z"), Instant.parse("2026-03-31T00:00:00Z"), false))
        .containsExactly(Instant.parse("2026-03-28T01:30:00Z"), Instant.parse("2026-03-30T00:30:00Z"));
    // 2026-10-25: 03:00 goes back to 02:00, so 02:30 happens twice; it fires once (the first).
    assertThat(s.due(Instant.parse("2026-10-24T00:00:00Z"), Instant.parse("2026-10-27T00:00:00Z"), false))
        .containsExactly(Instant.parse("2026-10-24T00:30:00Z"), Instant.parse("2026-10-25T00:30:00Z"),
            Instant.parse("2026-10-26T01:30:00Z"));
  }

  @Test
  void ticksAreWholeSecondsWhateverTheMomentTheyAreComputedFrom() {
    Schedule everySecond = of("* * * * * *", ZoneId.of("UTC"), Missed.fireAll);
    assertThat(everySecond.after(Instant.parse("2026-01-10T12:00:41.656035267Z"))).contains(Instant.parse("2026-01-10T12:00:42Z"));
    assertThat(everySecond.missed(Instant.parse("2026-01-10T12:00:40.5Z"), Instant.parse("2026-01-10T12:00:43.2Z")))
        .containsExactly(Instant.parse("2026-01-10T12:00:41Z"), Instant.parse("2026-01-10T12:00:42Z"),
            Instant.parse("2026-01-10T12:00:43Z"));
  }

  @Test
  void badExpressionsSayWhatIsWrong() {
    assertThatThrownBy(() -> Schedule.parse("0 2 * *")).hasMessageContaining("4 fields");
    assertThatThrownBy(() -> Schedule.parse("0 25 * * *")).hasMessageStartingWith("is not a valid cron expression (");
  }

  @Test
  void missedTicksFollowThePolicy() {
    Instant last = Instant.parse("2026-01-10T12:00:00Z");
    Instant now = Instant.parse("2026-01-10T12:05:30Z"); // ticks at :01 .. :05 were missed
    assertThat(of("* * * * *", ZoneId.of("UTC"), Missed.fireAll).missed(last, now)).containsExactly(
        Instant.parse("2026-01-10T12:01:00Z"), Instant.parse("2026-01-10T12:02:00Z"), Instant.parse("2026-01-10T12:03:00Z"),
        Instant.parse("2026-01-10T12:04:00Z"), Instant.parse("2026-01-10T12:05:00Z"));
    assertThat(of("* * * * *", ZoneId.of("UTC"), Missed.fireLast).missed(last, now))
        .containsExactly(Instant.parse("2026-01-10T12:05:00Z"));
    assertThat(of("* * * * *", ZoneId.of("UTC"), Missed.skip).missed(last, now)).isEmpty();
    // Never fired before: nothing was missed.
    assertThat(of("* * * * *", ZoneId.of("UTC"), Missed.fireAll).missed(null, now)).isEmpty();
  }

  @Test
  void onlyTicksInsideTheCatchUpWindowFireLateAndAtMostTheCap() {
    Schedule s = new Schedule("* * * * *", ZoneId.of("UTC"), Missed.fireAll, Duration.ofMinutes(10));
    Instant now = Instant.parse("2026-01-10T12:00:30Z");
    List<Instant> missed = s.missed(Instant.parse("2026-01-09T00:00:00Z"), now);
    assertThat(missed).hasSize(10).first().isEqualTo(Instant.parse("2026-01-10T11:51:00Z"));
    Schedule everySecond = new Schedule("* * * * * *", ZoneId.of("UTC"), Missed.fireAll, Duration.ofDays(1));
    List<Instant> capped = everySecond.missed(now.minus(Duration.ofHours(2)), now);
    assertThat(capped).hasSize(Schedule.MAX_CATCH_UP).last().isEqualTo(now);
  }
}
