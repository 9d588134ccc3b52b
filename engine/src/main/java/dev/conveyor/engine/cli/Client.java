package dev.conveyor.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * The gateway's HTTP API as the command line calls it, on the JDK's HttpClient. Every failure
 * becomes a {@link CliException} with one line saying what to do; the token goes only into the
 * {@code Authorization} header, never into a message.
 */
final class Client {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** An answer of the gateway. */
  record Response(int status, HttpResponse<byte[]> raw) {
    byte[] body() {
      return raw.body();
    }

    String text() {
      return new String(raw.body(), StandardCharsets.UTF_8);
    }

    String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }

    JsonNode json() {
      try {
        JsonNode n = JSON.readTree(raw.body());
        return n == null ? MissingNode.getInstance() : n;
      } catch (IOException e) {
        return MissingNode.getInstance();
      }
    }

    boolean ok() {
      return status >= 200 && status < 300;
    }
  }

  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private final String token;

  Client(String base, String token) {
    this.base = base;
    this.token = token;
  }

  String base() {
    return base;
  }

  Response get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).GET(), DEFAULT_TIMEOUT);
  }

  Response delete(String path) {
    return send(HttpRequest.newBuilder(uri(path)).DELETE(), DEFAULT_TIMEOUT);
  }

  Response post(String path, byte[] body, Map<String, String> headers, Duration timeout) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach((k, v) -> {
      if (v != null) b.header(k, v);
    });
    return send(b, timeout);
  }

  private URI uri(String path) {
    return URI.create(base + path);
  }

  private Response send(HttpRequest.Builder b, Duration timeout) {
    if (timeout != null) b.timeout(timeout);
    b.header("authorization", "Bearer " + token).header("user-agent", "conveyor-cli");
    try {
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      return new Response(r.statusCode(), r);
    } catch (HttpConnectTimeoutException | ConnectException e) {
      throw new CliException(Cli.UNREACHABLE, "cannot reach the gateway at " + base + " (" + why(e, "connection refused")
          + "): is it running? Check --url, CONVEYOR_URL or the context's url");
    } catch (HttpTimeoutException e) {
      throw new CliException(Cli.UNREACHABLE, "the gateway at " + base + " did not answer within " + Cli.human(timeout)
          + "; try again (a POST may have been stored: look its id up before sending it again)");
    } catch (IOException e) {
      throw new CliException(Cli.UNREACHABLE, "lost the connection to the gateway at " + base + " (" + why(e, "I/O error")
          + "): check --url and try again");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(Cli.FAILED, "interrupted");
    }
  }

  private static String why(Exception e, String otherwise) {
    String m = e.getMessage();
    if (m == null && e.getCause() != null) m = e.getCause().getMessage();
    return m == null || m.isBlank() ? otherwise : m;
  }

  /** The gateway's {@code {"error","message"}} as one line, with what to do. */
  static CliException apiError(Response r) {
    JsonNode j = r.json();
    String code = j.path("error").asText("");
    String message = j.path("message").asText("");
    if (message.isEmpty()) message = "the gateway answered HTTP " + r.status();
    String hint = switch (r.status()) {
      case 401 -> " Check the token (--token, CONVEYOR_TOKEN or the context's token).";
      case 403 -> " The token lacks the role or the namespace; ask for one that has it.";
      default -> "";
    };
    String retry = r.header("retry-after");
    if (retry != null && r.status() >= 429) hint += " Retry after " + retry + " s.";
    String where = code.isEmpty() ? "HTTP " + r.status() : code + ", HTTP " + r.status();
    return new CliException(Cli.REFUSED, strip(message) + " (" + where + ")" + hint);
  }

  private static String strip(String m) {
    return m.endsWith(".") ? m.substring(0, m.length() - 1) : m;
  }
}
