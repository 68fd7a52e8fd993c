package dev.riverboat;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Unique-job options, as River Go's UniqueOpts. {@code byArgs}: null (no), an empty list (all
 * args) or a list of dotted paths (only those). {@code byState}: null means the default states.
 */
public record UniqueOpts(List<String> byArgs, Duration byPeriod, boolean byQueue, Set<JobState> byState, boolean excludeKind) {
    public static final List<String> ALL_ARGS = List.of();

    public boolean isUnique() {
        return byArgs != null || byPeriod != null || byQueue || byState != null;
    }
}
