package dev.conveyor.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.Pattern;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.hibernate.validator.constraints.Range;
import org.hibernate.validator.constraints.time.DurationMax;
import org.hibernate.validator.constraints.time.DurationMin;

/**
 * The config file, bound by {@link ConfigLoader}: each record is one mapping, each component one key, its
 * annotations the key's range, its {@code DEFAULTS} the value of every key the file leaves out (or sets to
 * null). Every key, its type, default and range is documented in config/README.md (a test checks it).
 */
public record ConveyorConfig(
    @Valid Server server,
    @Valid KafkaSettings kafka,
    @NotEmpty(message = "at least one tenant is required") List<@Valid Tenant> tenants,
    List<@Valid FunctionSpec> functions,
    @Valid Metering metering,
    @Valid Dispatch dispatch,
    @Valid StatusSettings status,
    @Valid Samples samples,
    @Valid Knative knative,
    @Valid Auth auth,
    @Valid LeaderElection leaderElection,
    JsonNode connectors) {
  static final ConveyorConfig DEFAULTS = new ConveyorConfig(Server.DEFAULTS, KafkaSettings.DEFAULTS, List.of(), List.of(),
      Metering.DEFAULTS, Dispatch.DEFAULTS, StatusSettings.DEFAULTS, Samples.DEFAULTS, Knative.DEFAULTS, Auth.DEFAULTS,
      LeaderElection.DEFAULTS, null);

  /** A DNS label: tenants, namespaces, functions. */
  public static final String NAME = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
  static final String BAD_NAME = "is not a valid name (lower-case letters, digits and '-', at most 63)";
  static final String REQUIRED = "is required";
  static final String POSITIVE = "must be positive";

  /**
   * {@code drainDelay}: after SIGTERM, how long the API keeps serving while {@code /readyz} already
   * fails, so load balancers stop sending; {@code shutdownTimeout}: then, how long requests in flight
   * get to be answered after the API stops taking connections. {@code warmUp}: how long a starting replica may drive its own accept path over loopback before it
   * reports ready (it stops sooner, once the JIT has settled); zero reports ready untrained.
   */
  public record Server(@Range(max = 65535) int port, @Range(max = 65535) int adminPort, Duration drainDelay,
      Duration shutdownTimeout,
      @DurationMax(minutes = 5, message = "must be at most PT5M") Duration warmUp) {
    static final Server DEFAULTS = new Server(8080, 9090, Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(60));
  }

  /** {@code bootstrapServers} empty means: run the embedded broker. */
  public record KafkaSettings(
      String bootstrapServers,
      @Pattern(regexp = "[A-Za-z0-9._-]*", message = "may contain only letters, digits, '.', '_' and '-'") String topicPrefix,
      @Range(min = 1, max = 1000) int partitions,
      @Range(min = -1, max = 10) short replicationFactor,
      @DurationMin(seconds = 2, message = "must be at least PT2S") Duration deliveryTimeout,
      @Range(max = 1000) int lingerMs,
      @Range(max = 1000) int backgroundLingerMs,
      Map<String, String> clientProperties,
      QueueHeaders queueHeaders,
      StatusRecords statusRecords) {
    static final KafkaSettings DEFAULTS = new KafkaSettings("", "conveyor.", 6, (short) 1, Duration.ofSeconds(10), 1, 5, Map.of(),
        QueueHeaders.perField, StatusRecords.json);

    public KafkaSettings {
      bootstrapServers = bootstrapServers == null ? null : bootstrapServers.trim();
      queueHeaders = queueHeaders == null ? QueueHeaders.perField : queueHeaders;
      statusRecords = statusRecords == null ? StatusRecords.json : statusRecords;
    }

    public boolean embedded() {
      return bootstrapServers.isBlank();
    }
  }

  public enum Role { invoke, read, usage, admin }

  /**
   * How a queued invocation's metadata is written: a header per field (what every version reads), or
   * packed into one header (cheaper to write and read; read only by versions that write it).
   */
  public enum QueueHeaders { perField, packed }

  /**
   * How status records are written: JSON (what every version reads), or packed in a binary form
   * (cheaper to write and to read; read only by versions that have this setting). Both are read.
   */
  public enum StatusRecords { json, packed }

  public record ApiKey(
      @NotBlank(message = REQUIRED)
      @Pattern(regexp = "[0-9a-f]{64}", message = "expected the 64 hex characters of the key's SHA-256 (echo -n KEY | sha256sum)")
      String sha256,
      @NotEmpty(message = "at least one role is required") Set<Role> roles) {
    static final ApiKey DEFAULTS = new ApiKey(null, Set.of());

    public ApiKey {
      sha256 = sha256 == null ? null : sha256.toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * {@code weight}: the tenant's share of the dispatcher under contention, relative to the others'
   * (stride scheduling, see {@code FairScheduler}). {@code lanes}: how many queue partitions the
   * tenant's invocations spread over, each dispatched by its partition's owner with a fixed share
   * of {@code maxConcurrency} (see {@code Tenants#lanes}); at most {@code maxConcurrency}.
   */
  public record Limits(
      @Range(min = 1, max = 1_000_000) int maxConcurrency,
      @Range(min = 1, max = 10_000_000) int ratePerSecond,
      @Range(min = 1, max = 10_000_000) int burst,
      @Range(min = 1, max = Long.MAX_VALUE) long maxQueued,
      @Range(min = 1, max = 6 * 1024 * 1024) int maxPayloadBytes,
      @Range(min = 1, max = 1000) int weight,
      @Range(min = 1, max = 1000) int lanes,
      @Range(max = 1 << 30) int maxMemoryInFlightMiB,
      List<@Valid Budget> budgets) {
    static final Limits DEFAULTS = new Limits(50, 500, 1000, 100_000, 1024 * 1024, 1, 1, 0, List.of());

    public Limits(int maxConcurrency, int ratePerSecond, int burst, long maxQueued, int maxPayloadBytes) {
      this(maxConcurrency, ratePerSecond, burst, maxQueued, maxPayloadBytes, 1, 1);
    }

    public Limits(int maxConcurrency, int ratePerSecond, int burst, long maxQueued, int maxPayloadBytes, int weight, int lanes) {
      this(maxConcurrency, ratePerSecond, burst, maxQueued, maxPayloadBytes, weight, lanes, 0, List.of());
    }
  }

  public enum BudgetPeriod { day, month }

  /**
   * A usage budget of a tenant over each {@code period} (a calendar day or month in {@code timeZone}):
   * at most {@code gibSeconds} GiB-seconds and/or {@code invocations} invocations, read from the usage
   * rollups. Each fraction in {@code alertAt} (and 1, when the budget is spent) raises one event per
   * period; with {@code enforce}, a spent budget refuses new invocations until the period ends.
   */
  public record Budget(
      @jakarta.validation.constraints.NotNull(message = REQUIRED) BudgetPeriod period,
      @jakarta.validation.constraints.DecimalMin(value = "0", inclusive = false, message = POSITIVE) java.math.BigDecimal gibSeconds,
      @Range(min = 1, max = Long.MAX_VALUE, message = POSITIVE) Long invocations,
      List<@jakarta.validation.constraints.NotNull(message = REQUIRED)
          @jakarta.validation.constraints.DecimalMin(value = "0", inclusive = false, message = "expected a fraction above 0, such as 0.8")
          @jakarta.validation.constraints.DecimalMax(value = "10", message = "expected a fraction of at most 10, such as 0.8") Double> alertAt,
      boolean enforce,
      @ZoneName String timeZone) {
    static final Budget DEFAULTS = new Budget(null, null, null, List.of(0.8), true, "UTC");
  }

  /**
   * Where this tenant's results may be POSTed ({@code X-Callback-Url}, destinations): URL prefixes.
   * {@code secret} signs them (HMAC-SHA256; in the file as {@code secret} or {@code secretEnv});
   * empty {@code allow} means no callbacks at all.
   */
  public record Callbacks(
      // The host must be closed by a '/', or "https://hooks.example.com" would allow "https://hooks.example.com.evil.io".
      List<@Pattern(regexp = "(?s)https?://[^/]*/.*",
          message = "expected an http(s) URL prefix whose host ends with '/', such as https://hooks.example.com/") String> allow,
      String secret) {
    static final Callbacks DEFAULTS = new Callbacks(List.of(), null);

    public boolean allows(String url) {
      return allow.stream().anyMatch(url::startsWith);
    }
  }

  /**
   * {@code partition}: the queue partition of the tenant's first lane (its others follow at a fixed
   * stride, see {@code Tenants#lanes}); null = a hash of its name, so the order of the tenants list
   * places nothing.
   */
  public record Tenant(
      @NotBlank(message = REQUIRED) @Pattern(regexp = NAME, message = BAD_NAME) String name,
      @NotEmpty(message = "at least one namespace is required") List<@Pattern(regexp = NAME, message = BAD_NAME) String> namespaces,
      List<@Valid ApiKey> apiKeys,
      @Valid Limits limits,
      @Valid Callbacks callbacks,
      @Range(max = 100_000) Integer partition) {
    static final Tenant DEFAULTS = new Tenant(null, List.of(), List.of(), Limits.DEFAULTS, Callbacks.DEFAULTS, null);

    public Tenant(String name, List<String> namespaces, List<ApiKey> apiKeys, Limits limits, Callbacks callbacks) {
      this(name, namespaces, apiKeys, limits, callbacks, null);
    }

    public String defaultNamespace() {
      return namespaces.get(0);
    }
  }

  public enum BackoffPolicy { exponential, linear }

  /**
   * {@code platformRetries}: how many 503/404 answers of the Knative Activator, while the revision
   * has no ready replica, are waited out without spending {@code retry} (the platform's delay, not
   * the function's failure).
   */
  public record Delivery(
      @Range(max = 100) int retry,
      BackoffPolicy backoffPolicy,
      Duration backoffDelay,
      Duration backoffMax,
      Duration maxEventAge,
      @DurationMin(nanos = 1, message = POSITIVE) Duration timeout,
      @Range(max = 1000) int platformRetries,
      Set<@Range(min = 100, max = 599, message = "expected HTTP status codes (100-599)") Integer> retryOnStatus,
      @Valid DeadLetter deadLetter,
      @Valid Destination onSuccess,
      @Valid Destination onFailure) {
    static final Delivery DEFAULTS = new Delivery(2, BackoffPolicy.exponential, Duration.ofSeconds(1), Duration.ofMinutes(5),
        Duration.ofHours(6), Duration.ofSeconds(30), 10, Set.of(408, 429, 500, 502, 503, 504), null, null, null);

    /** Whether an invocation accepted at {@code acceptedAt} is past {@code maxEventAge} at {@code now} (zero: never). */
    public boolean tooOld(java.time.Instant acceptedAt, java.time.Instant now) {
      return !maxEventAge.isZero() && acceptedAt.plus(maxEventAge).isBefore(now);
    }

    /** This function's dead-letter topic; null: the gateway's. */
    public String deadLetterTopic() {
      return deadLetter == null ? null : deadLetter.topic();
    }
  }

  public record DeadLetter(String topic) {
    static final DeadLetter DEFAULTS = new DeadLetter(null);
  }

  /** Where an invocation record goes when an invocation ends: a URL (allow-listed) or a topic. */
  public record Destination(@HttpUrl String url, String topic) {
    static final Destination DEFAULTS = new Destination(null, null);
  }

  /** Per function: opens at {@code failureRateThreshold}% failures over at least {@code minimumCalls}. */
  public record BreakerSpec(
      @Range(min = 1, max = 100) int failureRateThreshold,
      @Range(min = 1, max = 100_000) int minimumCalls,
      @DurationMin(nanos = 1, message = POSITIVE) Duration openFor) {
    static final BreakerSpec DEFAULTS = new BreakerSpec(50, 20, Duration.ofSeconds(30));
  }

  public record FunctionSpec(
      @NotBlank(message = REQUIRED) @Pattern(regexp = NAME, message = BAD_NAME) String namespace,
      @NotBlank(message = REQUIRED) @Pattern(regexp = NAME, message = BAD_NAME) String name,
      @jakarta.validation.constraints.NotNull(message = REQUIRED) @HttpUrl URI url,
      @Range(min = 1, max = 1024 * 1024) int memoryMiB,
      @Range(min = 1, max = 1_000_000) int concurrency,
      @Valid Delivery delivery,
      @Valid BreakerSpec circuitBreaker) {
    static final FunctionSpec DEFAULTS = new FunctionSpec(null, null, null, 128, 100, Delivery.DEFAULTS, BreakerSpec.DEFAULTS);
  }

  /**
   * {@code dedupeDays}: how long the rollups remember a usage id (a duplicate arriving later would
   * count again); {@code forward}: where usage events are POSTed for a billing system (null: nowhere).
   */
  public record Metering(
      String source,
      @Range(min = 1, max = 60_000) int billingGranularityMs,
      @Range(min = 1, max = 3650) int dedupeDays,
      @Valid Forward forward,
      DedupeEntries dedupeEntries) {
    static final Metering DEFAULTS = new Metering("//conveyor/local", 1, 7, null, DedupeEntries.json);

    public Metering {
      dedupeEntries = dedupeEntries == null ? DedupeEntries.json : dedupeEntries;
    }
  }

  /**
   * How the usage rollups keep what a correction of a record id needs (its rollup key and
   * contribution): JSON (what every version reads), or packed (cheaper to write, a third of the size in
   * the store and its changelog; read only by versions that have this setting). Both are read.
   */
  public enum DedupeEntries { json, packed }

  /**
   * The usage forwarder: batches of at most {@code batchSize} usage CloudEvents POSTed to {@code url}
   * ({@code application/cloudevents-batch+json}, as OpenMeter's {@code /api/v1/events} takes them),
   * each batch until it is taken, waiting at most {@code timeout} per try and backing off up to
   * {@code backoffMax}; {@code token} (in the file as {@code token} or {@code tokenEnv}) as a bearer token.
   */
  public record Forward(
      @jakarta.validation.constraints.NotNull(message = REQUIRED) @HttpUrl URI url,
      @Range(min = 1, max = 10_000) int batchSize,
      Duration timeout,
      Duration backoffMax,
      String token) {
    static final Forward DEFAULTS = new Forward(null, 100, Duration.ofSeconds(10), Duration.ofMinutes(1), null);
  }

  /**
   * Per replica: at most {@code maxInFlight} invocations are being delivered at once. A replica
   * with {@code enabled: false} only accepts (and serves status); others deliver.
   * {@code maxWaiting}: invocations read from one queue partition and waiting for a slot (their
   * tenant or function at its limit, or the replica at {@code maxInFlight}); above it that
   * partition pauses, and only it. {@code runningStatusAfter}: a call's {@code running} status is
   * stored once it has run this long (zero: before every call); shorter calls go from queued or
   * retrying straight to their outcome. {@code protocol}: how functions are called (async attempts
   * and sync calls alike).
   */
  public record Dispatch(
      boolean enabled,
      String group,
      @Range(min = 1, max = 100_000) int maxInFlight,
      @Range(max = 4 * 1024 * 1024) int maxResultBytes,
      @Valid PostRetry callbacks,
      @Range(min = 1, max = 1_000_000) int maxWaiting,
      Duration runningStatusAfter,
      Protocol protocol) {
    static final Dispatch DEFAULTS = new Dispatch(true, "conveyor-dispatch", 512, 1024 * 1024, PostRetry.DEFAULTS, 2000,
        Duration.ofMillis(100), Protocol.http1);

    public Dispatch {
      protocol = protocol == null ? Protocol.http1 : protocol;
    }
  }

  /**
   * How functions at http URLs are called: HTTP/1.1 (what every HTTP server speaks), or HTTP/2
   * without TLS, with prior knowledge (h2c); https URLs stay on HTTP/1.1. HTTP/2 carries the calls
   * to a host as streams over a few connections instead of one connection per call in flight:
   * fewer writes and wake-ups per call. Knative's Activator and queue-proxy take h2c on every port,
   * and so does Kourier (its listeners detect the protocol); a server that speaks only HTTP/1.1 on an
   * http URL fails every call.
   */
  public enum Protocol { http1, http2 }

  /**
   * How callbacks and URL destinations are retried until the receiver answers 2xx: at most
   * {@code maxTries} POSTs, exponential backoff from {@code backoffDelay} with full jitter, capped
   * by {@code backoffMax}. Waits of 5 s and more are parked on the retry tiers (they survive a restart).
   */
  public record PostRetry(
      @Range(min = 1, max = 100) int maxTries,
      @DurationMin(nanos = 1, message = POSITIVE) Duration backoffDelay,
      Duration backoffMax) {
    static final PostRetry DEFAULTS = new PostRetry(16, Duration.ofMillis(500), Duration.ofHours(1));
  }

  public record StatusSettings(
      @Range(min = 1024 * 1024, max = Long.MAX_VALUE) long cacheMaxBytes,
      Duration idempotencyWindow,
      Duration retention) {
    // A quarter of the heap: the collector needs the rest as headroom (the drain benchmark's
    // 512 MB gateway spent a quarter of its CPU in GC with half of its heap held by the cache).
    static final StatusSettings DEFAULTS = new StatusSettings(Math.max(1024 * 1024, Runtime.getRuntime().maxMemory() / 4),
        Duration.ofHours(24), Duration.ofDays(7));
  }

  public record Samples(boolean enabled, @Range(max = 65535) int port) {
    static final Samples DEFAULTS = new Samples(false, 8081);
  }

  /**
   * {@code trustBundle}: PEM of the CAs that https function URLs are trusted by, besides the CA a
   * Service gives in {@code status.address.CACerts} (null: the JVM's default trust); the file names
   * the PEM file, the loader reads it.
   */
  public record Knative(boolean enabled, List<@Pattern(regexp = NAME, message = BAD_NAME) String> namespaces, String trustBundle) {
    static final Knative DEFAULTS = new Knative(false, List.of(), null);
  }

  /**
   * Who of the replicas runs the singletons (a schedule's ticks): a Kubernetes Lease per lock in
   * {@code namespace} when enabled; off, every process leads its own (one process, the default).
   */
  public record LeaderElection(boolean enabled, String namespace, Duration leaseDuration, Duration renewDeadline,
      Duration retryPeriod) {
    static final LeaderElection DEFAULTS = new LeaderElection(false, "conveyor", Duration.ofSeconds(15), Duration.ofSeconds(10),
        Duration.ofSeconds(2));
  }

  /** How callers authenticate besides API keys; {@code jwt} null: API keys only. */
  public record Auth(@Valid Jwt jwt) {
    static final Auth DEFAULTS = new Auth(null);
  }

  /**
   * JWT bearer tokens from the company's IAM: signature by one of {@code publicKeys} (PEM) or the
   * keys at {@code jwksUrl} (refreshed every {@code jwksRefresh}); {@code iss} and {@code aud}
   * must match; the tenant and roles come from the named claims.
   */
  public record Jwt(
      @NotBlank(message = REQUIRED) String issuer,
      @NotBlank(message = REQUIRED) String audience,
      @HttpUrl String jwksUrl,
      List<@Valid PublicKey> publicKeys,
      String tenantClaim,
      String rolesClaim,
      Duration jwksRefresh) {
    static final Jwt DEFAULTS = new Jwt(null, null, null, List.of(), "tenant", "roles", Duration.ofMinutes(5));
  }

  public record PublicKey(
      @Pattern(regexp = "RS256|RS384|RS512|ES256|ES384|ES512|PS256",
          message = "expected one of RS256, RS384, RS512, ES256, ES384, ES512, PS256") String algorithm,
      @NotBlank(message = REQUIRED)
      @Pattern(regexp = "(?s).*-----BEGIN PUBLIC KEY-----.*", message = "expected a PEM public key (-----BEGIN PUBLIC KEY-----)")
      String pem) {
    static final PublicKey DEFAULTS = new PublicKey("RS256", null);
  }

  public Optional<Tenant> tenant(String name) {
    return tenants.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  /** The one URL check: an absolute http or https URL with a host. */
  @Constraint(validatedBy = HttpUrl.Check.class)
  @Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER, ElementType.TYPE_USE})
  @Retention(RetentionPolicy.RUNTIME)
  public @interface HttpUrl {
    String message() default "expected an absolute http(s) URL, such as https://example.com/path";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    final class Check implements ConstraintValidator<HttpUrl, Object> {
      @Override
      public boolean isValid(Object value, ConstraintValidatorContext context) {
        if (value == null) return true;
        try {
          URI u = value instanceof URI uri ? uri : new URI(value.toString());
          return ("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null;
        } catch (java.net.URISyntaxException e) {
          return false;
        }
      }
    }
  }

  /** A time zone name Java knows, such as UTC or Europe/Berlin. */
  @Constraint(validatedBy = ZoneName.Check.class)
  @Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER, ElementType.TYPE_USE})
  @Retention(RetentionPolicy.RUNTIME)
  public @interface ZoneName {
    String message() default "expected a time zone such as UTC or Europe/Berlin";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    final class Check implements ConstraintValidator<ZoneName, String> {
      @Override
      public boolean isValid(String value, ConstraintValidatorContext context) {
        if (value == null) return true;
        try {
          java.time.ZoneId.of(value);
          return true;
        } catch (java.time.DateTimeException e) {
          return false;
        }
      }
    }
  }
}
