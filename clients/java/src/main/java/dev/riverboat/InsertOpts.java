package dev.riverboat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Per-insert options; null means "kind default, then client default". Chain the setters. */
public final class InsertOpts {
    String queue;
    Integer priority;
    Integer maxAttempts;
    Instant scheduledAt;
    boolean pending;
    List<String> tags;
    Map<String, ?> metadata;
    UniqueOpts unique;

    public InsertOpts queue(String v) { queue = v; return this; }

    public InsertOpts priority(int v) { priority = v; return this; }

    public InsertOpts maxAttempts(int v) { maxAttempts = v; return this; }

    /** Any explicit time, even in the past, inserts the job as scheduled. */
    public InsertOpts scheduledAt(Instant v) { scheduledAt = v; return this; }

    public InsertOpts pending(boolean v) { pending = v; return this; }

    public InsertOpts tags(List<String> v) { tags = v; return this; }

    public InsertOpts metadata(Map<String, ?> v) { metadata = v; return this; }

    public InsertOpts unique(UniqueOpts v) { unique = v; return this; }
}
