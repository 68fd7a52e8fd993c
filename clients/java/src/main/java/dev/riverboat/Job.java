package dev.riverboat;

import java.time.Instant;
import java.util.List;

/** A river_job row as returned; JSON columns as the text Postgres returned. */
public record Job(long id, String args, int attempt, Instant attemptedAt, List<String> attemptedBy, Instant createdAt,
        String errors, Instant finalizedAt, String kind, int maxAttempts, String metadata, int priority, String queue,
        Instant scheduledAt, String state, List<String> tags, byte[] uniqueKey, Integer uniqueStates) {}
