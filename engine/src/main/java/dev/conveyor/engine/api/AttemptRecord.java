package dev.conveyor.engine.api;

import java.time.Instant;

/** One attempt in the status {@code history} (SPEC §2). */
public record AttemptRecord(
    int attempt, Instant startedAt, Long durationMs, Integer httpStatus, String error, boolean coldStart) {}
