package dev.conveyor.engine.auth;

import dev.conveyor.engine.config.ConveyorConfig.ApiKey;
import dev.conveyor.engine.config.ConveyorConfig.Tenant;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * API keys as configured: only their SHA-256 is known. The presented key is hashed and looked up;
 * the final comparison is constant-time. Keys are never logged or echoed.
 */
public final class ApiKeyAuthenticator {
  private record Known(byte[] hash, Principal principal) {}

  /**
   * By the hash's first eight bytes (a long: no hex string to build and hash per request); the
   * whole hash is then compared in constant time.
   */
  private final Map<Long, Known> byHash = new HashMap<>();

  public ApiKeyAuthenticator(List<Tenant> tenants) {
    for (Tenant t : tenants) {
      for (ApiKey k : t.apiKeys()) {
        byte[] hash = HexFormat.of().parseHex(k.sha256());
        byHash.put(prefix(hash), new Known(hash, new Principal(t, k.roles())));
      }
    }
  }

  private static long prefix(byte[] hash) {
    return java.nio.ByteBuffer.wrap(hash).getLong();
  }

  public static String sha256Hex(String key) {
    return HexFormat.of().formatHex(sha256(key));
  }

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  });

  private static byte[] sha256(String key) {
    return SHA256.get().digest(key.getBytes(StandardCharsets.UTF_8));
  }

  public Optional<Principal> authenticate(String key) {
    if (key == null || key.isEmpty() || key.length() > 4096) return Optional.empty();
    byte[] h = sha256(key);
    Known k = byHash.get(prefix(h));
    if (k == null || !MessageDigest.isEqual(k.hash(), h)) return Optional.empty();
    return Optional.of(k.principal());
  }
}
