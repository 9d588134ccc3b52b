package dev.conveyor.engine.api;

import java.time.Instant;

/** One attempt in the status {@code history} (docs/openapi.yaml); {@code coldStartMs} only for a cold attempt. */
public record AttemptRecord(
    int attempt, Instant startedAt, Long durationMs, Integer httpStatus, String error, boolean coldStart, Long coldStartMs) {}
