package dev.conveyor.engine.http;

import dev.conveyor.engine.api.AttemptRecord;
import dev.conveyor.engine.api.InvocationStatus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;

/** The status object of the API (docs/openapi.yaml), exactly its fields, in its order. */
final class StatusJson {
  private StatusJson() {}

  static JsonObject of(InvocationStatus s) {
    JsonArray history = new JsonArray();
    for (AttemptRecord a : s.history()) {
      history.add(new JsonObject()
          .put("attempt", a.attempt())
          .put("startedAt", time(a.startedAt()))
          .put("durationMs", a.durationMs())
          .put("httpStatus", a.httpStatus())
          .put("error", a.error())
          .put("coldStart", a.coldStart())
          .put("coldStartMs", a.coldStartMs()));
    }
    Long coldStartMs = null; // the cold start of the latest cold attempt
    for (AttemptRecord a : s.history()) if (a.coldStartMs() != null) coldStartMs = a.coldStartMs();
    return new JsonObject()
        .put("id", s.id())
        .put("namespace", s.namespace())
        .put("function", s.function())
        .put("trigger", s.trigger() == null ? "http" : s.trigger())
        .put("mode", s.modeOrAsync())
        .put("status", s.status().name())
        .put("attempts", s.attempts())
        .put("platformDelays", s.platformDelays())
        .put("acceptedAt", time(s.acceptedAt()))
        .put("startedAt", time(s.startedAt()))
        .put("finishedAt", time(s.finishedAt()))
        .put("durationMs", s.durationMs())
        .put("queueWaitMs", s.queueWaitMs())
        .put("coldStart", s.coldStart())
        .put("coldStartMs", coldStartMs)
        .put("httpStatus", s.httpStatus())
        .put("lastError", s.lastError())
        .put("traceId", s.traceId())
        .put("history", history);
  }

  static String time(Instant t) {
    return t == null ? null : t.toString();
  }
}
