package dev.riverboat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * Unique-job options, as River Go's UniqueOpts. {@code byArgs}: null (no), {@link #ALL_ARGS}
 * (all args) or a list of dotted paths (only those); any other empty list is the same as null.
 * {@code byState}: null means the default states.
 */
public record UniqueOpts(List<String> byArgs, Duration byPeriod, boolean byQueue, Set<JobState> byState, boolean excludeKind) {
    /** All args. An empty list of its own, told apart from an empty selection by identity. */
    public static final List<String> ALL_ARGS = Collections.unmodifiableList(new ArrayList<>());

    public UniqueOpts {
        // Selecting no paths is not selecting by args at all (spec/04-unique.md#options).
        if (byArgs != ALL_ARGS && byArgs != null && byArgs.isEmpty()) {
            byArgs = null;
        }
    }

    /** Whether all args (rather than selected paths) take part in the key. */
    public boolean allArgs() {
        return byArgs == ALL_ARGS;
    }

    public boolean isUnique() {
        return byArgs != null || byPeriod != null || byQueue || byState != null;
    }
}
