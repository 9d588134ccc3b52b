package dev.conveyor.engine.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The names an invoke carries, checked char by char, agree with the DNS label grammar the config
 * validates names with.
 */
class AdmissionNamesTest {
  private static final Pattern NAME = Pattern.compile(dev.conveyor.engine.config.ConveyorConfig.NAME);
  private static final Pattern FUNCTION = Pattern.compile(NAME.pattern() + "(@" + NAME.pattern() + ")?");

  @Test
  void edges() {
    assertThat(Admission.function("echo")).isTrue();
    assertThat(Admission.function("echo@canary")).isTrue();
    assertThat(Admission.function("a".repeat(63))).isTrue();
    assertThat(Admission.function("a".repeat(64))).isFalse();
    assertThat(Admission.function("a-b-1")).isTrue();
    assertThat(Admission.function("")).isFalse();
    assertThat(Admission.function(null)).isFalse();
    assertThat(Admission.function("-echo")).isFalse();
    assertThat(Admission.function("echo-")).isFalse();
    assertThat(Admission.function("Echo")).isFalse();
    assertThat(Admission.function("echo@")).isFalse();
    assertThat(Admission.function("@canary")).isFalse();
    assertThat(Admission.function("a@b@c")).isFalse();
    assertThat(Admission.function("echo.v1")).isFalse();
    assertThat(Admission.function("écho")).isFalse();
    assertThat(Admission.label("ns@x", 0, 4)).isFalse();
  }

  /** Random strings over the characters that matter: the same answer as the regular expressions. */
  @Test
  void agreesWithTheGrammar() {
    Random r = new Random(42);
    String alphabet = "ab9-@A._z0";
    int valid = 0;
    for (int i = 0; i < 200_000; i++) {
      int len = r.nextInt(r.nextBoolean() ? 6 : 70);
      StringBuilder b = new StringBuilder(len);
      for (int j = 0; j < len; j++) b.append(alphabet.charAt(r.nextInt(r.nextInt(10) < 8 ? 4 : alphabet.length())));
      String s = b.toString();
      assertThat(Admission.function(s)).as(s).isEqualTo(FUNCTION.matcher(s).matches());
      assertThat(Admission.label(s, 0, s.length())).as(s).isEqualTo(NAME.matcher(s).matches());
      if (NAME.matcher(s).matches()) valid++;
    }
    assertThat(valid).as("the sample holds valid names too").isGreaterThan(1_000);
  }
}
