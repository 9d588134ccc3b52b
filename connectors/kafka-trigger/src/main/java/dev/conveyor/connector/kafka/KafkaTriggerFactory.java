package dev.conveyor.connector.kafka;

import dev.conveyor.connector.spi.ConnectorFactory;
import dev.conveyor.connector.spi.TriggerConnector;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.util.Map;

/**
 * {@code type: kafka}: records of a user topic become invocations of one function.
 *
 * <pre>
 * - type: kafka
 *   name: orders
 *   bootstrapServers: ""          # "" = the gateway's own Kafka
 *   topic: orders
 *   group: conveyor-orders        # default conveyor-&lt;name&gt;
 *   target: { namespace: acme, function: resize }
 *   maxInFlight: 64               # records held at once (queued, or in ordered mode waiting to finish), 1-10000
 *   ordered: false                # true: per key, the next record waits for the previous one's end
 *   poisonLimit: 3                # ordered: attempts per record before it is dead-lettered and its key moves on, 1-100
 *   properties: { security.protocol: SASL_SSL, ... }   # any Kafka consumer property (SASL/TLS)
 * </pre>
 *
 * The keys are {@link Config}'s, bound and checked by the gateway as the rest of its config file.
 */
public final class KafkaTriggerFactory implements ConnectorFactory<KafkaTriggerFactory.Config> {
  private static final String IN_FLIGHT = "must be between 1 and 10000";
  private static final String POISON = "must be between 1 and 100";

  /** An entry's keys besides {@code type} and {@code name}; {@code group} null: {@code conveyor-<name>}. */
  public record Config(
      String bootstrapServers,
      @NotBlank(message = "is required") String topic,
      String group,
      @Valid @NotNull(message = "is required: \\{ namespace, function \\}") Target target,
      @Min(value = 1, message = IN_FLIGHT) @Max(value = 10_000, message = IN_FLIGHT) int maxInFlight,
      boolean ordered,
      @Min(value = 1, message = POISON) @Max(value = 100, message = POISON) int poisonLimit,
      Map<String, String> properties) {
    static final Config DEFAULTS = new Config("", null, null, null, 64, false, 3, Map.of());
  }

  /** The function the records go to. */
  public record Target(@NotBlank(message = "is required") String namespace, @NotBlank(message = "is required") String function) {
    static final Target DEFAULTS = new Target(null, null);
  }

  @Override
  public String type() {
    return "kafka";
  }

  @Override
  public Class<Config> configType() {
    return Config.class;
  }

  @Override
  public TriggerConnector create(String name, Config c) {
    return new KafkaTrigger(name, c.bootstrapServers(), c.topic(), c.group() == null ? "conveyor-" + name : c.group(),
        c.target().namespace(), c.target().function(), c.maxInFlight(), c.ordered(), c.poisonLimit(), c.properties());
  }
}
