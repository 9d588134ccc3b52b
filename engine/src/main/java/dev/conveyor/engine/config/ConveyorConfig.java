package dev.conveyor.engine.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The validated config file (SPEC §4). Every key and default is documented in config/README.md. */
public record ConveyorConfig(
    Server server,
    KafkaSettings kafka,
    List<Tenant> tenants,
    List<FunctionSpec> functions,
    Metering metering,
    Dispatch dispatch,
    StatusSettings status,
    Samples samples,
    Knative knative,
    Auth auth,
    LeaderElection leaderElection,
    JsonNode connectors) {

  /**
   * {@code drainDelay}: after SIGTERM, how long the API keeps serving while {@code /readyz} already
   * fails, so load balancers stop sending; {@code shutdownTimeout}: then, how long requests in flight
   * get to be answered after the API stops taking connections.
   */
  public record Server(int port, int adminPort, int maxRequestBytes, java.time.Duration drainDelay,
      java.time.Duration shutdownTimeout) {
    public Server(int port, int adminPort, int maxRequestBytes) {
      this(port, adminPort, maxRequestBytes, java.time.Duration.ofSeconds(5), java.time.Duration.ofSeconds(30));
    }
  }

  /** {@code bootstrapServers} empty means: run the embedded broker. */
  public record KafkaSettings(
      String bootstrapServers,
      String topicPrefix,
      int partitions,
      short replicationFactor,
      Duration deliveryTimeout,
      int lingerMs,
      int backgroundLingerMs,
      Map<String, String> clientProperties) {
    public boolean embedded() {
      return bootstrapServers.isBlank();
    }
  }

  public enum Role { invoke, read, usage, admin }

  public record ApiKey(String sha256, Set<Role> roles) {}

  /**
   * {@code weight}: the tenant's share of the dispatcher under contention, relative to the others'
   * (stride scheduling, see {@code FairScheduler}).
   */
  public record Limits(int maxConcurrency, int ratePerSecond, int burst, long maxQueued, int maxPayloadBytes, int weight) {
    public Limits(int maxConcurrency, int ratePerSecond, int burst, long maxQueued, int maxPayloadBytes) {
      this(maxConcurrency, ratePerSecond, burst, maxQueued, maxPayloadBytes, 1);
    }
  }

  /**
   * Where this tenant's results may be POSTed ({@code X-Callback-Url}, destinations): URL prefixes.
   * {@code secret} signs them (HMAC-SHA256); empty {@code allow} means no callbacks at all.
   */
  public record Callbacks(List<String> allow, String secret) {
    public boolean allows(String url) {
      return allow.stream().anyMatch(url::startsWith);
    }
  }

  /**
   * {@code partition}: the queue partition all of the tenant's invocations go to (one owner replica
   * enforces its limits); null = its position in the tenants list, modulo the partitions.
   */
  public record Tenant(String name, List<String> namespaces, List<ApiKey> apiKeys, Limits limits, Callbacks callbacks,
      Integer partition) {
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
      int retry,
      BackoffPolicy backoffPolicy,
      Duration backoffDelay,
      Duration backoffMax,
      Duration maxEventAge,
      Duration timeout,
      int platformRetries,
      Set<Integer> retryOnStatus,
      String deadLetterTopic,
      Destination onSuccess,
      Destination onFailure) {

    /** Whether an invocation accepted at {@code acceptedAt} is past {@code maxEventAge} at {@code now} (zero: never). */
    public boolean tooOld(java.time.Instant acceptedAt, java.time.Instant now) {
      return !maxEventAge.isZero() && acceptedAt.plus(maxEventAge).isBefore(now);
    }
  }

  /** Where an invocation record goes when an invocation ends: a URL (allow-listed) or a topic. */
  public record Destination(String url, String topic) {}

  /** Per function: opens at {@code failureRateThreshold}% failures over at least {@code minimumCalls}. */
  public record BreakerSpec(int failureRateThreshold, int minimumCalls, Duration openFor) {}

  public record FunctionSpec(
      String namespace, String name, URI url, int memoryMiB, int concurrency, Delivery delivery, BreakerSpec circuitBreaker) {}

  /**
   * {@code dedupeDays}: how long the rollups remember a usage id (a duplicate arriving later would
   * count again); {@code forward}: where usage events are POSTed for a billing system (null: nowhere).
   */
  public record Metering(String source, int billingGranularityMs, int dedupeDays, Forward forward) {
    public Metering(String source, int billingGranularityMs) {
      this(source, billingGranularityMs, 7, null);
    }
  }

  /**
   * The usage forwarder: batches of at most {@code batchSize} usage CloudEvents POSTed to {@code url}
   * ({@code application/cloudevents-batch+json}, as OpenMeter's {@code /api/v1/events} takes them),
   * each batch until it is taken, waiting at most {@code timeout} per try and backing off up to
   * {@code backoffMax}; {@code token} (from {@code tokenEnv}) as a bearer token.
   */
  public record Forward(java.net.URI url, int batchSize, Duration timeout, Duration backoffMax, String token) {}

  /**
   * Per replica: at most {@code maxInFlight} invocations are being delivered at once. A replica
   * with {@code enabled: false} only accepts (and serves status); others deliver.
   * {@code maxWaiting}: invocations read from one queue partition and waiting for a slot (their
   * tenant or function at its limit, or the replica at {@code maxInFlight}); above it that
   * partition pauses, and only it. {@code runningStatusAfter}: a call's {@code running} status is
   * stored once it has run this long (zero: before every call); shorter calls go from queued or
   * retrying straight to their outcome.
   */
  public record Dispatch(boolean enabled, String group, int maxInFlight, int maxResultBytes, PostRetry callbacks, int maxWaiting,
      Duration runningStatusAfter) {}

  /**
   * How callbacks and URL destinations are retried until the receiver answers 2xx: at most
   * {@code maxTries} POSTs, exponential backoff from {@code backoffDelay} with full jitter, capped
   * by {@code backoffMax}. Waits of 5 s and more are parked on the retry tiers (they survive a restart).
   */
  public record PostRetry(int maxTries, Duration backoffDelay, Duration backoffMax) {}

  public record StatusSettings(long cacheMaxBytes, Duration idempotencyWindow, Duration retention) {}

  public record Samples(boolean enabled, int port) {}

  /**
   * {@code trustBundle}: PEM of the CAs that https function URLs are trusted by, besides the CA a
   * Service gives in {@code status.address.CACerts} (null: the JVM's default trust).
   */
  public record Knative(boolean enabled, List<String> namespaces, String trustBundle) {
    public Knative(boolean enabled, List<String> namespaces) {
      this(enabled, namespaces, null);
    }
  }

  /**
   * Who of the replicas runs the singletons (a schedule's ticks): a Kubernetes Lease per lock in
   * {@code namespace} when enabled; off, every process leads its own (one process, the default).
   */
  public record LeaderElection(boolean enabled, String namespace, Duration leaseDuration, Duration renewDeadline,
      Duration retryPeriod) {}

  /** How callers authenticate besides API keys; {@code jwt} null: API keys only. */
  public record Auth(Jwt jwt) {}

  /**
   * JWT bearer tokens from the company's IAM: signature by one of {@code publicKeys} (PEM) or the
   * keys at {@code jwksUrl} (refreshed every {@code jwksRefresh}); {@code iss} and {@code aud}
   * must match; the tenant and roles come from the named claims.
   */
  public record Jwt(String issuer, String audience, String jwksUrl, List<PublicKey> publicKeys, String tenantClaim,
      String rolesClaim, Duration jwksRefresh) {}

  public record PublicKey(String algorithm, String pem) {}

  public Optional<Tenant> tenant(String name) {
    return tenants.stream().filter(t -> t.name().equals(name)).findFirst();
  }
}
