package dev.conveyor.connector.cron;

import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.spi.TriggerConnector;
import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;

/**
 * {@code type: cron}: a schedule's ticks become invocations of one function.
 *
 * <pre>
 * - type: cron
 *   name: nightly
 *   schedule: "0 2 * * *"          # 5 fields (UNIX cron), or 6 with seconds first
 *   timeZone: Europe/Berlin         # default UTC
 *   target: { namespace: acme, function: report }
 *   payload: '{"kind":"nightly"}'   # default ""
 *   contentType: application/json   # default
 *   missedTicks: fireLast           # fireLast | fireAll | skip: ticks that came due while no replica led
 *   catchUpWindow: PT1H             # ticks older than this are never fired late (ISO-8601, not negative)
 * </pre>
 *
 * The keys are {@link Config}'s, bound and checked by the gateway as the rest of its config file.
 */
public final class CronTriggerFactory implements ConnectorFactory<CronTriggerFactory.Config> {
  /** An entry's keys besides {@code type} and {@code name}. */
  public record Config(
      @NotBlank(message = "is required") @CronSchedule String schedule,
      @TimeZoneId String timeZone,
      @Valid @NotNull(message = "is required: \\{ namespace, function \\}") Target target,
      String payload,
      String contentType,
      Schedule.Missed missedTicks,
      Duration catchUpWindow) {
    static final Config DEFAULTS = new Config(null, "UTC", null, "", "application/json", Schedule.Missed.fireLast,
        Duration.ofHours(1));
  }

  /** The function the ticks go to. */
  public record Target(@NotBlank(message = "is required") String namespace, @NotBlank(message = "is required") String function) {
    static final Target DEFAULTS = new Target(null, null);
  }

  @Override
  public String type() {
    return "cron";
  }

  @Override
  public Class<Config> configType() {
    return Config.class;
  }

  @Override
  public TriggerConnector create(String name, Config c) {
    return create(name, c, Clock.systemUTC());
  }

  TriggerConnector create(String name, Config c, Clock clock) {
    Schedule schedule = new Schedule(c.schedule(), ZoneId.of(c.timeZone()), c.missedTicks(), c.catchUpWindow());
    return new CronTrigger(name, schedule, c.target().namespace(), c.target().function(), c.payload(), c.contentType(), clock);
  }

  /** A cron expression {@link Schedule#parse} takes; the message says what is wrong with one it does not. */
  @Constraint(validatedBy = CronSchedule.Check.class)
  @java.lang.annotation.Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER, ElementType.TYPE_USE})
  @Retention(RetentionPolicy.RUNTIME)
  public @interface CronSchedule {
    String message() default "is not a valid cron expression";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    final class Check implements ConstraintValidator<CronSchedule, String> {
      @Override
      public boolean isValid(String value, ConstraintValidatorContext context) {
        if (value == null || value.isBlank()) return true;
        try {
          Schedule.parse(value);
          return true;
        } catch (IllegalArgumentException e) {
          context.disableDefaultConstraintViolation();
          // A message template: cron-utils' reason is text, not parameters.
          context.buildConstraintViolationWithTemplate(e.getMessage().replaceAll("([{}$\\\\])", "\\\\$1")).addConstraintViolation();
          return false;
        }
      }
    }
  }

  /** A time zone {@link ZoneId#of} knows, such as {@code Europe/Berlin} or {@code UTC}. */
  @Constraint(validatedBy = TimeZoneId.Check.class)
  @java.lang.annotation.Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER, ElementType.TYPE_USE})
  @Retention(RetentionPolicy.RUNTIME)
  public @interface TimeZoneId {
    String message() default "expected a time zone such as Europe/Berlin";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    final class Check implements ConstraintValidator<TimeZoneId, String> {
      @Override
      public boolean isValid(String value, ConstraintValidatorContext context) {
        try {
          return value == null || ZoneId.of(value) != null;
        } catch (DateTimeException e) {
          return false;
        }
      }
    }
  }
}
