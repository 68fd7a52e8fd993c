package dev.riverboat;

import java.util.Locale;

/** {@code river_job_state} in declaration order; the ordinal is the unique-states bit. */
public enum JobState {
    AVAILABLE, CANCELLED, COMPLETED, DISCARDED, PENDING, RETRYABLE, RUNNING, SCHEDULED;

    public String dbName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a state name; an unknown one is a validation error on {@code unique_opts.by_state}. */
    public static JobState parse(String name) {
        for (JobState s : values()) {
            if (s.dbName().equals(name)) {
                return s;
            }
        }
        throw new ValidationException("unique_opts.by_state", "unknown_state", "unknown state \"" + name + "\"");
    }
}
