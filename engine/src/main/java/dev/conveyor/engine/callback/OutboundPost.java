package dev.conveyor.engine.callback;

import dev.conveyor.engine.api.Invocation;
import dev.conveyor.engine.api.InvocationStatus;
import dev.conveyor.engine.api.StoredResult;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * A POST Conveyor owes somebody on behalf of a tenant: an {@code X-Callback-Url} callback or a URL
 * destination. It is stored on {@code conveyor.callbacks} before the invocation's final status, so
 * a crash can repeat it but never lose it; the {@link CallbackDispatcher} sends it. The body is the
 * record's value; the URL, tenant, kind and the headers to send travel in record headers.
 */
public record OutboundPost(String invocationId, String tenant, String kind, String url, Map<String, String> headers,
    byte[] body) {
  public static final String CALLBACK = "callback";
  public static final String DESTINATION = "destination";

  private static final String ID = "conveyor-id";
  private static final String TENANT = "conveyor-tenant";
  private static final String KIND = "conveyor-post-kind";
  private static final String URL = "conveyor-post-url";
  private static final String HEADER = "post-";

  /** The result of a finished invocation for its {@code X-Callback-Url}. */
  public static OutboundPost callback(Invocation inv, InvocationStatus terminal, StoredResult result) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("x-conveyor-status", terminal.status().name());
    if (result != null) {
      h.put("x-function-status", Integer.toString(result.httpStatus()));
      if (result.contentType() != null) h.put("content-type", result.contentType());
    }
    return new OutboundPost(inv.id(), inv.tenant(), CALLBACK, inv.callbackUrl(), h, result == null ? new byte[0] : result.body());
  }

  public ProducerRecord<String, byte[]> toRecord(String topic) {
    Headers h = new RecordHeaders();
    put(h, ID, invocationId);
    put(h, TENANT, tenant);
    put(h, KIND, kind);
    put(h, URL, url);
    headers.forEach((k, v) -> put(h, HEADER + k, v));
    return new ProducerRecord<>(topic, null, invocationId, body, h);
  }

  /** @throws IllegalArgumentException when the record is not an outbound POST */
  public static OutboundPost from(ConsumerRecord<String, byte[]> r) {
    String id = null, tenant = null, kind = null, url = null;
    Map<String, String> headers = new LinkedHashMap<>();
    for (Header hd : r.headers()) {
      String v = hd.value() == null ? null : new String(hd.value(), StandardCharsets.UTF_8);
      switch (hd.key()) {
        case ID -> id = v;
        case TENANT -> tenant = v;
        case KIND -> kind = v;
        case URL -> url = v;
        default -> {
          if (hd.key().startsWith(HEADER)) headers.put(hd.key().substring(HEADER.length()), v);
        }
      }
    }
    if (id == null || tenant == null || kind == null || url == null) throw new IllegalArgumentException("not an outbound POST");
    return new OutboundPost(id, tenant, kind, url, headers, r.value() == null ? new byte[0] : r.value());
  }

  private static void put(Headers h, String k, String v) {
    if (v != null) h.add(k, v.getBytes(StandardCharsets.UTF_8));
  }
}
