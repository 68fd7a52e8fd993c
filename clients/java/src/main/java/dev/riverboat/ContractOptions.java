package dev.riverboat;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A contract's {@code insert_opts} as {@link InsertOpts}. The document has been checked
 * against the meta-schema; a {@code null} member is unset (spec/03-insert.md#json-options).
 */
final class ContractOptions {
    private ContractOptions() {}

    @SuppressWarnings("unchecked")
    static InsertOpts insertOpts(Json.JsonObject o) {
        InsertOpts opts = new InsertOpts();
        opts.queue = (String) o.get("queue");
        opts.priority = o.get("priority") instanceof Long p ? p.intValue() : null;
        opts.maxAttempts = o.get("max_attempts") instanceof Long m ? m.intValue() : null;
        opts.scheduledAt = o.get("scheduled_at") instanceof String s ? time(s) : null;
        opts.pending = Boolean.TRUE.equals(o.get("pending"));
        opts.tags = (List<String>) o.get("tags");
        opts.metadata = (Map<String, ?>) o.get("metadata");
        opts.unique = o.get("unique_opts") instanceof Json.JsonObject u ? uniqueOpts(u) : null;
        return opts;
    }

    /** The meta-schema's pattern admits times that do not exist (month 13). */
    private static Instant time(String text) {
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            throw new ValidationException("scheduled_at", "format", text + " is not an RFC 3339 time");
        }
    }

    @SuppressWarnings("unchecked")
    private static UniqueOpts uniqueOpts(Json.JsonObject u) {
        Object byArgs = u.get("by_args");
        List<String> paths = byArgs instanceof List<?> l ? (List<String>) l : Boolean.TRUE.equals(byArgs) ? UniqueOpts.ALL_ARGS : null;
        Duration period = u.get("by_period_seconds") instanceof Long s ? Duration.ofSeconds(s) : null;
        Set<JobState> states = null;
        if (u.get("by_state") instanceof List<?> names) {
            states = EnumSet.noneOf(JobState.class);
            for (Object name : names) {
                states.add(JobState.parse((String) name));
            }
        }
        return new UniqueOpts(paths, period, Boolean.TRUE.equals(u.get("by_queue")), states,
                Boolean.TRUE.equals(u.get("exclude_kind")));
    }
}
