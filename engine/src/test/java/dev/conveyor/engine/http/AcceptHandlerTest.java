package dev.conveyor.engine.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AcceptHandlerTest {
  @Test
  void theBodyOfA202IsTheJsonJacksonWritesForItsFields() throws Exception {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("id", "0193f0a1-7c2e-7000-8000-000000000000");
    fields.put("status", "queued");
    fields.put("namespace", "acme-prod");
    fields.put("function", "resize-image");
    fields.put("acceptedAt", "2026-12-07T08:15:30.120Z");
    byte[] body = AcceptHandler.body(fields.get("id"), fields.get("status"), fields.get("namespace"), fields.get("function"),
        fields.get("acceptedAt"));
    assertThat(new String(body, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo(new ObjectMapper().writeValueAsString(fields));
    for (String odd : java.util.List.of("größe", "a\"b", "a\\b", "a\nb")) {
      fields.put("function", odd);
      byte[] other = AcceptHandler.body(fields.get("id"), fields.get("status"), fields.get("namespace"), fields.get("function"),
          fields.get("acceptedAt"));
      assertThat(new ObjectMapper().readValue(other, Map.class)).as("%s: still JSON, the value as it was", odd).isEqualTo(fields);
    }
  }
}
