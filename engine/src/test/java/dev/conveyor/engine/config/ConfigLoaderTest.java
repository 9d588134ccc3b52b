package dev.conveyor.engine.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.conveyor.config.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
  private static final String SHA = "c48a01f49fd0f2cc404bc3cbbc80e91457a3d41bb429a695243de4c61794155c";

  private static String minimal(String tenantExtra, String functions) {
    return """
        tenants:
          - name: acme
            namespaces: [acme]
            apiKeys: [ { sha256: "%s", roles: [invoke] } ]
        %s
        functions: %s
        """.formatted(SHA, tenantExtra, functions.equals("[]") ? "[]" : "\n" + functions);
  }

  @Test
  void shouldLoadTheSpecExampleWithItsValues() {
    String yaml = """
        server: { port: 8080, adminPort: 9090 }
        kafka: { bootstrapServers: "" }
        tenants:
          - name: acme
            namespaces: [acme]
            apiKeys: [ { sha256: "%s", roles: [invoke, read, usage] } ]
            limits: { maxConcurrency: 50, ratePerSecond: 500, burst: 1000, maxQueued: 100000, maxPayloadBytes: 1048576,
                      lanes: 1 }
        functions:
          - namespace: acme
            name: resize
            url: http://127.0.0.1:8081/echo
            memoryMiB: 256
            concurrency: 20
            delivery:
              retry: 2
              backoffPolicy: exponential
              backoffDelay: PT1S
              backoffMax: PT5M
              maxEventAge: PT6H
              timeout: PT30S
              retryOnStatus: [408, 429, 500, 502, 503, 504]
              deadLetter: { topic: conveyor.deadletter }
              onSuccess: { url: "http://example.com" }
              onFailure: { topic: "failures" }
            circuitBreaker: { failureRateThreshold: 50, minimumCalls: 20, openFor: PT30S }
        knative: { enabled: false, namespaces: [acme] }
        metering: { source: "//conveyor/local", billingGranularityMs: 1 }
        """.formatted(SHA);
    ConveyorConfig c = ConfigLoader.parse(yaml, Map.of());
    assertThat(c.kafka().embedded()).isTrue();
    assertThat(c.kafka().lingerMs()).as("accepts wait for their write: 1 ms of linger at most").isEqualTo(1);
    assertThat(c.kafka().backgroundLingerMs()).as("nobody waits for these").isEqualTo(5);
    assertThat(c.kafka().queueHeaders()).as("the form every version reads, so a rolling upgrade loses nothing")
        .isEqualTo(ConveyorConfig.QueueHeaders.perField);
    assertThat(ConfigLoader.parse(yaml.replace("kafka: { bootstrapServers: \"\" }",
        "kafka: { bootstrapServers: \"\", queueHeaders: packed }"), Map.of()).kafka().queueHeaders())
        .isEqualTo(ConveyorConfig.QueueHeaders.packed);
    assertThat(c.kafka().statusRecords()).as("the form every version reads").isEqualTo(ConveyorConfig.StatusRecords.json);
    assertThat(ConfigLoader.parse(yaml.replace("kafka: { bootstrapServers: \"\" }",
        "kafka: { bootstrapServers: \"\", statusRecords: packed }"), Map.of()).kafka().statusRecords())
        .isEqualTo(ConveyorConfig.StatusRecords.packed);
    assertThat(c.metering().dedupeEntries()).as("the form every version reads").isEqualTo(ConveyorConfig.DedupeEntries.json);
    assertThat(ConfigLoader.parse(yaml.replace("billingGranularityMs: 1 }", "billingGranularityMs: 1, dedupeEntries: packed }"),
        Map.of()).metering().dedupeEntries())
        .isEqualTo(ConveyorConfig.DedupeEntries.packed);
    assertThat(c.dispatch().protocol()).as("what every HTTP server speaks").isEqualTo(ConveyorConfig.Protocol.http1);
    assertThat(ConfigLoader.parse(yaml + "dispatch: { protocol: http2 }\n", Map.of()).dispatch().protocol())
        .isEqualTo(ConveyorConfig.Protocol.http2);
    assertThat(c.status().cacheMaxBytes()).isEqualTo(Runtime.getRuntime().maxMemory() / 4);
    assertThat(c.tenants().get(0).limits().maxPayloadBytes()).isEqualTo(1048576);
    assertThat(c.tenants().get(0).limits().lanes()).isEqualTo(1);
    ConveyorConfig.FunctionSpec f = c.functions().get(0);
    assertThat(f.memoryMiB()).isEqualTo(256);
    assertThat(f.delivery().retry()).isEqualTo(2);
    assertThat(f.delivery().timeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(f.delivery().retryOnStatus()).contains(503).doesNotContain(400);
    assertThat(f.delivery().deadLetterTopic()).isEqualTo("conveyor.deadletter");
    assertThat(c.metering().source()).isEqualTo("//conveyor/local");
  }

  @Test
  void aFunctionLargerThanItsTenantsMemoryPerLaneAndABudgetWithoutAmountsAreRefused() {
    String fn = "  - { namespace: acme, name: big, url: \"http://127.0.0.1:1/\", memoryMiB: 1024 }";
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("    limits: { maxConcurrency: 4, lanes: 2, maxMemoryInFlightMiB: 1024 }", fn),
        Map.of())).hasMessageContaining("functions[0].memoryMiB: tenant 'acme' lets one attempt hold at most 512 MiB");
    var ok = ConfigLoader.parse(minimal("    limits: { maxMemoryInFlightMiB: 1024, budgets: [ { period: day, invocations: 10 } ] }", fn),
        Map.of()).tenants().get(0).limits();
    assertThat(ok.maxMemoryInFlightMiB()).isEqualTo(1024);
    assertThat(ok.budgets().get(0).alertAt()).as("default").containsExactly(0.8);
    assertThat(ok.budgets().get(0).enforce()).as("default").isTrue();
    assertThat(ok.budgets().get(0).timeZone()).as("default").isEqualTo("UTC");
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("    limits: { budgets: [ { period: month } ] }", "[]"), Map.of()))
        .hasMessageContaining("tenants[0].limits.budgets[0]: give gibSeconds, invocations or both");
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("    limits: { budgets: [ { period: week, invocations: 1 } ] }", "[]"), Map.of()))
        .hasMessageContaining("tenants[0].limits.budgets[0].period");
    assertThatThrownBy(() -> ConfigLoader.parse(
        minimal("    limits: { budgets: [ { period: day, invocations: 1, timeZone: Mars/Olympus } ] }", "[]"), Map.of()))
        .hasMessageContaining("tenants[0].limits.budgets[0].timeZone: expected a time zone");
  }

  @Test
  void refusesMoreLanesThanMaxConcurrencyForALaneWouldHaveNoSlot() {
    String yaml = minimal("    limits: { maxConcurrency: 2, lanes: 3 }", "[]");
    assertThatThrownBy(() -> ConfigLoader.parse(yaml, Map.of()))
        .hasMessageContaining("tenants[0].limits.lanes: at most maxConcurrency (2)");
    assertThat(ConfigLoader.parse(minimal("    limits: { maxConcurrency: 3, lanes: 3 }", "[]"), Map.of())
        .tenants().get(0).limits().lanes()).isEqualTo(3);
    assertThat(ConfigLoader.parse(minimal("", "[]"), Map.of()).tenants().get(0).limits().lanes()).as("default").isEqualTo(1);
  }

  @Test
  void shouldLoadTheShippedDefaultConfig() throws Exception {
    Path file = Path.of("..", "config", "conveyor.yaml");
    ConveyorConfig c = ConfigLoader.load(file, Map.of());
    assertThat(c.samples().enabled()).isTrue();
    assertThat(c.functions()).extracting(ConveyorConfig.FunctionSpec::name).contains("echo", "sleep", "flaky");
  }

  @Test
  void shouldLetTheEnvironmentWinOverTheFile() {
    ConveyorConfig c = ConfigLoader.parse(minimal("", "[]"),
        Map.of("CONVEYOR_HTTP_PORT", "18080", "CONVEYOR_ADMIN_PORT", "19090", "KAFKA_BOOTSTRAP_SERVERS", "kafka:9092"));
    assertThat(c.server().port()).isEqualTo(18080);
    assertThat(c.server().adminPort()).isEqualTo(19090);
    assertThat(c.kafka().embedded()).isFalse();
    assertThat(c.kafka().bootstrapServers()).isEqualTo("kafka:9092");
  }

  /** The server section of a minimal file with {@code extra} appended, under {@code env}. */
  private static ConveyorConfig.Server server(String extra, Map<String, String> env) {
    return ConfigLoader.parse(minimal("", "[]") + extra, env).server();
  }

  private static final Map<String, String> EXTERNAL = Map.of("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092");

  @Test
  void drainsForLoadBalancersAgainstAnExternalKafkaOnlyUnlessTold() {
    assertThat(server("", EXTERNAL).drainDelay()).isEqualTo(java.time.Duration.ofSeconds(5));
    assertThat(server("", Map.of()).drainDelay()).as("embedded broker").isZero();
    assertThat(server("server: { drainDelay: PT2S }\n", Map.of()).drainDelay()).isEqualTo(java.time.Duration.ofSeconds(2));
  }

  @Test
  void warmsUpAgainstAnExternalKafkaOnlyUnlessTold() {
    assertThat(server("", EXTERNAL).warmUp()).isEqualTo(java.time.Duration.ofSeconds(60));
    assertThat(server("", Map.of()).warmUp()).as("embedded broker").isZero();
    assertThat(server("server: { warmUp: PT20S }\n", Map.of()).warmUp()).isEqualTo(java.time.Duration.ofSeconds(20));
    assertThat(server("", Map.of("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092", "CONVEYOR_WARMUP", "PT0S")).warmUp()).isZero();
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "[]") + "server: { warmUp: PT10M }\n", Map.of()))
        .hasMessage("server.warmUp: must be at most PT5M, got PT10M");
  }

  @Test
  void shouldNameTheKeyOfABadApiKeyHash() {
    String yaml = minimal("", "[]").replace(SHA, "not-hex");
    assertThatThrownBy(() -> ConfigLoader.parse(yaml, Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("tenants[0].apiKeys[0].sha256:");
  }

  @Test
  void leaderElectionIsOffByDefaultAndItsTimesMustNest() {
    assertThat(ConfigLoader.parse(minimal("", "[]"), Map.of()).leaderElection().enabled()).isFalse();
    var on = ConfigLoader.parse(minimal("", "[]") + "leaderElection: { enabled: true, leaseDuration: PT6S, renewDeadline: PT4S, retryPeriod: PT1S }\n",
        Map.of()).leaderElection();
    assertThat(on.enabled()).isTrue();
    assertThat(on.namespace()).isEqualTo("conveyor");
    assertThat(on.leaseDuration()).hasSeconds(6);
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "[]") + "leaderElection: { enabled: true, leaseDuration: PT5S, renewDeadline: PT5S }\n",
        Map.of())).hasMessageStartingWith("leaderElection.renewDeadline:");
  }

  @Test
  void shouldRefuseUnknownKeysAsTypos() {
    String yaml = minimal("", "[]").replace("    apiKeys:", "    limts: { maxConcurrency: 5 }\n    apiKeys:");
    assertThatThrownBy(() -> ConfigLoader.parse(yaml, Map.of())).hasMessage("tenants[0].limts: unknown key");
    assertThatThrownBy(() -> ConfigLoader.parse("tenant: []\n", Map.of())).hasMessage("tenant: unknown key");
  }

  @Test
  void shouldNameBadDurationsUrlsRolesAndNumbers() {
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "  - { namespace: acme, name: f, url: \"http://x/f\", delivery: { timeout: 30s } }"), Map.of()))
        .hasMessageStartingWith("functions[0].delivery.timeout:");
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "  - { namespace: acme, name: f, url: \"ftp://x/f\" }"), Map.of()))
        .hasMessageStartingWith("functions[0].url:");
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "[]").replace("[invoke]", "[root]"), Map.of()))
        .hasMessage("tenants[0].apiKeys[0].roles[0]: expected one of [invoke, read, usage, admin], got 'root'");
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "[]") + "dispatch: { protocol: h2c }\n", Map.of()))
        .hasMessage("dispatch.protocol: expected one of [http1, http2], got 'h2c'");
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "  - { namespace: acme, name: f, url: \"http://x/f\", memoryMiB: -1 }"), Map.of()))
        .hasMessageStartingWith("functions[0].memoryMiB:");
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "[]"), Map.of("CONVEYOR_HTTP_PORT", "eighty")))
        .hasMessageStartingWith("CONVEYOR_HTTP_PORT:");
  }

  @Test
  void shouldRefuseDuplicatesAndEmptyTenants() {
    assertThatThrownBy(() -> ConfigLoader.parse("tenants: []\n", Map.of())).hasMessageStartingWith("tenants:");
    String twice = "  - { namespace: acme, name: f, url: \"http://x/f\" }\n  - { namespace: acme, name: f, url: \"http://x/g\" }";
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", twice), Map.of())).hasMessageStartingWith("functions[1]:");
  }

  @Test
  void shouldRefuseANamespaceClaimedByTwoTenants() {
    String yaml = """
        tenants:
          - { name: acme, namespaces: [acme, shared], apiKeys: [ { sha256: "%s", roles: [invoke] } ] }
          - { name: globex, namespaces: [globex, shared], apiKeys: [ { sha256: "%s", roles: [invoke] } ] }
        """.formatted(SHA, SHA.replace('c', 'd'));
    assertThatThrownBy(() -> ConfigLoader.parse(yaml, Map.of()))
        .hasMessage("tenants[1].namespaces[1]: namespace 'shared' is claimed by tenants 'acme' and 'globex'; a namespace has one tenant");
    assertThat(ConfigLoader.parse(yaml.replace("globex, shared", "globex"), Map.of()).tenants()).hasSize(2);
  }

  @Test
  void shouldRefuseValuesOfAnotherTypeWithoutCoercing() {
    String base = minimal("", "[]");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "server: { port: \"8080\" }\n", Map.of()))
        .hasMessage("server.port: expected a whole number, got '8080'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "kafka: { topicPrefix: 5 }\n", Map.of()))
        .hasMessage("kafka.topicPrefix: expected a string, got '5'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "kafka: { partitions: 1.5 }\n", Map.of()))
        .hasMessageStartingWith("kafka.partitions: expected a whole number");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "samples: { enabled: \"true\" }\n", Map.of()))
        .hasMessageStartingWith("samples.enabled: expected true or false");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "server: { drainDelay: 5 }\n", Map.of()))
        .hasMessage("server.drainDelay: expected an ISO-8601 duration such as PT30S, got '5'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "server: { drainDelay: -PT5S }\n", Map.of()))
        .hasMessage("server.drainDelay: must not be negative, got '-PT5S'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "kafka: { partitions: 0 }\n", Map.of()))
        .hasMessage("kafka.partitions: must be between 1 and 1000, got 0");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "tenants: 5\n", Map.of()))
        .hasMessageStartingWith("tenants: expected a list");
    assertThatThrownBy(() -> ConfigLoader.parse(base + "server: { maxRequestBytes: 1048576 }\n", Map.of()))
        .as("the body limit is the tenant's maxPayloadBytes").hasMessage("server.maxRequestBytes: unknown key");
  }

  @Test
  void shouldTakeDefaultsForLeftOutAndEmptyKeys() {
    ConveyorConfig c = ConfigLoader.parse(minimal("", "  - { namespace: acme, name: f, url: \"http://x/f\", delivery: }")
        + "dispatch:\nknative: { namespaces: null }\n", Map.of());
    assertThat(c.server().port()).isEqualTo(8080);
    assertThat(c.dispatch().maxInFlight()).isEqualTo(512);
    assertThat(c.knative().namespaces()).isEmpty();
    assertThat(c.functions().get(0).delivery()).isEqualTo(ConfigLoader.defaultDelivery());
    assertThat(c.functions().get(0).circuitBreaker().openFor()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.tenants().get(0).limits().maxPayloadBytes()).isEqualTo(1024 * 1024);
    assertThat(c.kafka().replicationFactor()).as("embedded").isEqualTo((short) 1);
  }

  @Test
  void annotationsBindLikeTheFileAndNameTheAnnotation() {
    var annotations = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
        .put("retry", 3).put("timeout", "PT45S");
    var d = ConfigLoader.delivery("annotations of acme/f: conveyor.dev/", annotations);
    assertThat(d.retry()).isEqualTo(3);
    assertThat(d.backoffMax()).isEqualTo(ConfigLoader.defaultDelivery().backoffMax());
    annotations.put("timeout", "45s");
    assertThatThrownBy(() -> ConfigLoader.delivery("annotations of acme/f: conveyor.dev/", annotations))
        .hasMessage("annotations of acme/f: conveyor.dev/timeout: expected an ISO-8601 duration such as PT30S, got '45s'");
  }

  @Test
  void shouldExplainYamlThatDoesNotParse() {
    assertThatThrownBy(() -> ConfigLoader.parse("tenants: [ {", Map.of())).isInstanceOf(ConfigException.class);
  }

  @Test
  void shouldReadCallbackAllowListsAndTheirSecrets() {
    String withCallbacks = minimal("", "[]").replace("    apiKeys:",
        "    callbacks: { allow: [\"https://hooks.example.com/\"], secretEnv: ACME_HOOK_SECRET }\n    apiKeys:");
    ConveyorConfig c = ConfigLoader.parse(withCallbacks, Map.of("ACME_HOOK_SECRET", "0123456789abcdef0123"));
    assertThat(c.tenants().get(0).callbacks().allows("https://hooks.example.com/orders")).isTrue();
    assertThat(c.tenants().get(0).callbacks().allows("https://hooks.example.com.evil.io/")).isFalse();
    assertThat(c.tenants().get(0).callbacks().secret()).isEqualTo("0123456789abcdef0123");
    assertThatThrownBy(() -> ConfigLoader.parse(withCallbacks, Map.of()))
        .hasMessageStartingWith("tenants[0].callbacks.secretEnv:");
    String badPrefix = minimal("", "[]").replace("    apiKeys:", "    callbacks: { allow: [\"ftp://x\"], secret: \"0123456789abcdef\" }\n    apiKeys:");
    assertThatThrownBy(() -> ConfigLoader.parse(badPrefix, Map.of())).hasMessageStartingWith("tenants[0].callbacks.allow[0]:");
    String openHost = minimal("", "[]").replace("    apiKeys:", "    callbacks: { allow: [\"https://hooks.example.com\"], secret: \"0123456789abcdef\" }\n    apiKeys:");
    assertThatThrownBy(() -> ConfigLoader.parse(openHost, Map.of())).hasMessageContaining("host ends with '/'");
    assertThat(ConfigLoader.parse(minimal("", "[]"), Map.of()).tenants().get(0).callbacks().allows("http://127.0.0.1/")).isFalse();
  }

  @Test
  void connectorEntriesAreBoundOntoTheirConnectorsRecords() {
    String yaml = minimal("", "[]") + """
        connectors:
          - { type: kafka, name: orders, topic: orders, target: { namespace: acme, function: echo }, ordered: true }
          - { type: cron, name: nightly, schedule: "0 2 * * *", target: { namespace: acme, function: echo } }
          - { type: cloudevents, name: sink, namespace: acme, routes: [ { type: x, target: { namespace: acme, function: echo } } ] }
        """;
    assertThat(ConfigLoader.parse(yaml, Map.of()).connectors()).hasSize(3);
    var bound = ConfigLoader.connectors(ConfigLoader.parse(yaml, Map.of()).connectors());
    assertThat(bound).extracting(ConfigLoader.Connector::key, ConfigLoader.Connector::name)
        .containsExactly(tuple("connectors[0]", "orders"), tuple("connectors[1]", "nightly"));
    assertThat(bound.get(0).config()).hasToString(
        "Config[bootstrapServers=, topic=orders, group=null, target=Target[namespace=acme, function=echo], maxInFlight=64, ordered=true, "
            + "poisonLimit=3, properties={}]");
    assertThat(bound.get(1).config()).hasToString("Config[schedule=0 2 * * *, timeZone=UTC, target=Target[namespace=acme, function=echo], "
        + "payload=, contentType=application/json, missedTicks=fireLast, catchUpWindow=PT1H]");
  }

  @Test
  void connectorErrorsNameTheEntryAndTheKeyAsTheFilesOthersDo() {
    String kafka = "  - { type: kafka, name: orders, topic: orders, target: { namespace: acme, function: echo } }\n";
    String cron = "  - { type: cron, name: nightly, schedule: \"0 2 * * *\", target: { namespace: acme, function: echo } }\n";
    String base = minimal("", "[]") + "connectors:\n";
    assertThatThrownBy(() -> ConfigLoader.parse(base + kafka.replace("topic:", "tpoic:"), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessage("connectors[0].tpoic: unknown key");
    assertThatThrownBy(() -> ConfigLoader.parse(base + kafka.replace("namespace: acme", "namespace: \"\""), Map.of()))
        .hasMessage("connectors[0].target.namespace: is required, got ''");
    assertThatThrownBy(() -> ConfigLoader.parse(base + cron + kafka.replace(" }\n", ", poisonLimit: 0 }\n"), Map.of()))
        .hasMessage("connectors[1].poisonLimit: must be between 1 and 100, got 0");
    assertThatThrownBy(() -> ConfigLoader.parse(base + kafka.replace(" }\n", ", maxInFlight: \"64\" }\n"), Map.of()))
        .hasMessage("connectors[0].maxInFlight: expected a whole number, got '64'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + kafka.replace(" }\n", ", maxInFlight: 6.4 }\n"), Map.of()))
        .hasMessage("connectors[0].maxInFlight: expected a whole number, got '6.4'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + kafka + cron.replace(" }\n", ", catchUpWindow: 1h }\n"), Map.of()))
        .hasMessage("connectors[1].catchUpWindow: expected an ISO-8601 duration such as PT30S, got '1h'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + cron.replace("0 2 * * *", "0 2 * *"), Map.of()))
        .hasMessage("connectors[0].schedule: has 4 fields; use 5 (min hour day month weekday) or 6 (seconds first), got '0 2 * *'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + cron.replace(" }\n", ", timeZone: Mars/Olympus }\n"), Map.of()))
        .hasMessage("connectors[0].timeZone: expected a time zone such as Europe/Berlin, got 'Mars/Olympus'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + kafka.replace("type: kafka", "type: kafak"), Map.of()))
        .hasMessage("connectors[0].type: no connector of type 'kafak' (known: [cron, kafka])");
    assertThatThrownBy(() -> ConfigLoader.parse(base + kafka.replace("name: orders, ", ""), Map.of()))
        .hasMessage("connectors[0]: every connector needs a type and a name");
    assertThatThrownBy(() -> ConfigLoader.parse(minimal("", "[]") + "connectors: { type: kafka }\n", Map.of()))
        .hasMessage("connectors: expected a list");
  }
}
