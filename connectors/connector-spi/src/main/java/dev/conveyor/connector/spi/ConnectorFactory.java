package dev.conveyor.connector.spi;

/**
 * Found with {@link java.util.ServiceLoader}; {@link #type()} matches the {@code type} of an entry
 * under {@code connectors:} in the config. The gateway binds the entry's other keys (all but
 * {@code type} and {@code name}) onto {@link #configType()} as it binds the rest of its config file,
 * then calls {@link #create} with the result.
 *
 * <p>The config type is a record: each component is one key (Jackson's annotations where the key is not
 * the component's name), its Bean Validation constraints ({@code jakarta.validation}, and custom ones
 * of the connector's own) are the key's range, a nested record ({@code @Valid}) is a nested mapping,
 * and a {@code static final DEFAULTS} instance holds the value of every key an entry leaves out.
 * Binding is strict: an unknown key, a value of another type (a quoted number, a fraction for a whole
 * number), a duration that is not ISO-8601 or a value its constraints refuse stops start-up with one
 * line naming the key, e.g. {@code connectors[0].target.namespace: is required}. The connector
 * test kit binds the same way.
 *
 * @param <C> the record an entry's keys are bound onto
 */
public interface ConnectorFactory<C extends Record> {
  String type();

  Class<C> configType();

  /**
   * A connector named {@code name} from its bound and checked config.
   *
   * @throws IllegalArgumentException for what its constraints could not check; the gateway reports it
   *     under the entry ({@code connectors[i]: ...})
   */
  TriggerConnector create(String name, C config);
}
