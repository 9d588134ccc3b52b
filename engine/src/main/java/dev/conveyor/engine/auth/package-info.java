/**
 * Who is calling. {@link ApiKeyAuthenticator} checks an API key against the configured SHA-256 hashes
 * (constant-time, never logged); {@link JwtAuthenticator} verifies an IAM bearer token (signature against
 * configured keys or a periodically refreshed JWKS, issuer, audience, expiry) and maps its claims to a
 * configured tenant and roles. Either yields a {@link Principal}.
 *
 * <p>May use: {@code config} (tenants, API keys, roles, JWT settings). Built on vertx-auth-jwt and the
 * Vert.x web client (the JWKS fetch).
 */
package dev.conveyor.engine.auth;
