package dev.conveyor.engine.testing;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.auth.ApiKeyAuthenticator;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/** Configs and in-process gateways for the integration tests, on the shared test broker. */
public final class Gateways {
  public static final String ACME_KEY = "acme-key";
  public static final String ACME_READER_KEY = "acme-reader-key";
  public static final String ACME_ADMIN_KEY = "acme-admin-key";
  public static final String GLOBEX_KEY = "globex-key";
  private static final AtomicInteger SEQ = new AtomicInteger();

  private Gateways() {}

  /** A fresh topic prefix, so each test class has its own queue, status and usage topics. */
  public static String prefix(String name) {
    return "it" + SEQ.incrementAndGet() + "-" + name + "-" + System.nanoTime() % 100000 + ".";
  }

  /**
   * Two tenants: acme (namespace acme, functions under {@code functionsYaml}) and globex.
   * {@code functionsYaml} is the YAML list under {@code functions:}.
   */
  public static String yaml(String bootstrap, String prefix, String functionsYaml, String extra) {
    return """
        server: { port: 0, adminPort: 0, warmUp: PT0S }
        kafka: { bootstrapServers: "%s", topicPrefix: "%s", partitions: 3, replicationFactor: 1, deliveryTimeout: PT5S }
        tenants:
          - name: acme
            namespaces: [acme, acme-staging]
            apiKeys:
              - { sha256: "%s", roles: [invoke, read, usage] }
              - { sha256: "%s", roles: [read] }
              - { sha256: "%s", roles: [invoke, read, admin] }
            limits: { maxPayloadBytes: 65536 }
          - name: globex
            namespaces: [globex]
            apiKeys: [ { sha256: "%s", roles: [invoke, read] } ]
        functions:
        %s
        dispatch: { group: "%sdispatch" }
        %s
        """.formatted(bootstrap, prefix, ApiKeyAuthenticator.sha256Hex(ACME_KEY),
        ApiKeyAuthenticator.sha256Hex(ACME_READER_KEY), ApiKeyAuthenticator.sha256Hex(ACME_ADMIN_KEY),
        ApiKeyAuthenticator.sha256Hex(GLOBEX_KEY),
        functionsYaml.indent(2), prefix, extra == null ? "" : extra);
  }

  /**
   * {@code yaml} with the queue's records packed into one header, the status records and the usage
   * rollups' dedupe entries in their packed forms ({@code kafka.queueHeaders: packed},
   * {@code kafka.statusRecords: packed}, {@code metering.dedupeEntries: packed}).
   */
  public static String packed(String yaml) {
    String fixed = "deliveryTimeout: PT5S }";
    if (!yaml.contains(fixed)) throw new IllegalArgumentException("not a yaml of Gateways.yaml");
    String out = yaml.replace(fixed, "deliveryTimeout: PT5S, queueHeaders: packed, statusRecords: packed }");
    if (out.contains("\nmetering: {")) return out.replace("\nmetering: {", "\nmetering: { dedupeEntries: packed,");
    if (out.contains("\nmetering:")) throw new IllegalArgumentException("a metering section not in flow style: set dedupeEntries there");
    return out + "\nmetering: { dedupeEntries: packed }\n";
  }

  public static ConveyorConfig config(String yaml) {
    return ConfigLoader.parse(yaml, Map.of());
  }

  public static Conveyor start(String yaml) {
    return start(yaml, null);
  }

  /** With Knative discovery through {@code kubernetes} (the mock API server's client). */
  public static Conveyor start(String yaml, io.fabric8.kubernetes.client.KubernetesClient kubernetes) {
    return start(yaml, kubernetes, Map.of());
  }

  /** ... and {@code otel.*} properties (an OTLP endpoint of the test's receiver). */
  public static Conveyor start(String yaml, io.fabric8.kubernetes.client.KubernetesClient kubernetes, Map<String, String> otel) {
    try {
      return Conveyor.start(config(yaml), new Conveyor.Runtime(Files.createTempDirectory("conveyor-it"), 1).withKubernetes(kubernetes).withOtel(otel));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
