package dev.riverboat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Unique keys and unique-state masks exactly as River Go computes them (spec 04-unique). */
public final class UniqueKey {
    private UniqueKey() {}

    /** Seconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch. */
    private static final long GO_ZERO_OFFSET_SECS = 62_135_596_800L;

    public static final Set<JobState> DEFAULT_STATES = EnumSet.of(JobState.AVAILABLE, JobState.COMPLETED,
            JobState.PENDING, JobState.RETRYABLE, JobState.RUNNING, JobState.SCHEDULED);

    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    public static int stateMask(UniqueOpts opts) {
        int mask = 0;
        for (JobState s : opts.byState() == null ? DEFAULT_STATES : opts.byState()) {
            mask |= 1 << s.ordinal();
        }
        return mask;
    }

    /** The string that is hashed. */
    public static String keyString(String kind, String encodedArgs, String queue, UniqueOpts opts, Instant scheduledAt, Instant now) {
        StringBuilder s = new StringBuilder();
        if (!opts.excludeKind()) {
            s.append("&kind=").append(kind);
        }
        if (opts.byArgs() != null) {
            s.append("&args=").append(opts.allArgs() ? canonicalAll(encodedArgs) : canonicalSelected(encodedArgs, opts.byArgs()));
        }
        if (opts.byPeriod() != null) {
            s.append("&period=").append(SECONDS.format(periodLowerBound(scheduledAt != null ? scheduledAt : now, opts.byPeriod().toNanos())));
        }
        if (opts.byQueue()) {
            s.append("&queue=").append(queue);
        }
        return s.toString();
    }

    /** SHA-256 of the key string: the 32 bytes stored in river_job.unique_key. */
    public static byte[] compute(String kind, String encodedArgs, String queue, UniqueOpts opts, Instant scheduledAt, Instant now) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(keyString(kind, encodedArgs, queue, opts, scheduledAt, now).getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is always available", e);
        }
    }

    /** Go's time.Truncate: counts from 0001-01-01T00:00:00Z, not from the Unix epoch. */
    public static Instant periodLowerBound(Instant t, long periodNanos) {
        java.math.BigInteger nanos = java.math.BigInteger.valueOf(t.getEpochSecond() + GO_ZERO_OFFSET_SECS)
                .multiply(java.math.BigInteger.valueOf(1_000_000_000L)).add(java.math.BigInteger.valueOf(t.getNano()));
        java.math.BigInteger p = java.math.BigInteger.valueOf(periodNanos);
        java.math.BigInteger truncated = nanos.subtract(nanos.mod(p));
        java.math.BigInteger[] qr = truncated.divideAndRemainder(java.math.BigInteger.valueOf(1_000_000_000L));
        return Instant.ofEpochSecond(qr[0].longValueExact() - GO_ZERO_OFFSET_SECS, qr[1].longValue());
    }

    private static Json.JsonObject object(String encoded) {
        try {
            if (Json.parse(encoded) instanceof Json.JsonObject o) {
                return o;
            }
        } catch (IllegalArgumentException e) {
            // Falls through to the same error as a non-object.
        }
        throw new ValidationException("args", "type", "args must encode a JSON object");
    }

    /** Top-level members sorted by key bytes, the first of duplicate keys winning. */
    static String canonicalAll(String encoded) {
        List<Map.Entry<String, String>> members = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Map.Entry<String, String> e : object(encoded).rawMembers) {
            if (seen.add(e.getKey())) {
                members.add(e);
            }
        }
        members.sort((a, b) -> compareBytes(a.getKey(), b.getKey()));
        StringBuilder out = new StringBuilder("{");
        for (int i = 0; i < members.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            Json.canonicalKey(members.get(i).getKey(), out);
            out.append(':').append(members.get(i).getValue());
        }
        return out.append('}').toString();
    }

    private static int compareBytes(String a, String b) {
        return java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    private static String lookup(String encoded, String[] path, int from) {
        if (!(Json.parse(encoded) instanceof Json.JsonObject o)) {
            return null;
        }
        String raw = o.raw(path[from]);
        if (raw == null || from == path.length - 1) {
            return raw;
        }
        return lookup(raw, path, from + 1);
    }

    @SuppressWarnings("unchecked")
    private static void set(Map<String, Object> fields, String[] path, int from, String raw) {
        if (from == path.length - 1) {
            fields.put(path[from], raw);
            return;
        }
        Object next = fields.computeIfAbsent(path[from], k -> new LinkedHashMap<String, Object>());
        // A raw value here was set by a shorter selected path (paths sort before their
        // extensions); the value at the longer path comes from the same args and is already
        // inside it byte for byte, so replacing it in place would change nothing.
        if (next instanceof Map<?, ?> inner) {
            set((Map<String, Object>) inner, path, from + 1, raw);
        }
    }

    private static void write(Map<String, Object> fields, StringBuilder out) {
        out.append('{');
        boolean first = true;
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            Json.canonicalKey(e.getKey(), out);
            out.append(':');
            if (e.getValue() instanceof String raw) {
                out.append(raw);
            } else {
                @SuppressWarnings("unchecked")
                Map<String, Object> inner = (Map<String, Object>) e.getValue();
                write(inner, out);
            }
        }
        out.append('}');
    }

    /**
     * A selected path's components (spec/04-unique.md#options): split on unescaped '.', a '\'
     * making the next character literal (a trailing one stands for itself). Each component must be
     * a non-empty object key: River resolves a numeric component as an array index, which selected
     * args do not support.
     */
    static List<String> pathComponents(String path) {
        List<String> components = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (int i = 0; i < path.length(); ) {
            int c = path.codePointAt(i);
            i += Character.charCount(c);
            if (c == '\\' && i < path.length()) {
                c = path.codePointAt(i);
                i += Character.charCount(c);
                current.appendCodePoint(c);
            } else if (c == '.') {
                components.add(current.toString());
                current.setLength(0);
            } else {
                current.appendCodePoint(c);
            }
        }
        components.add(current.toString());
        for (String component : components) {
            if (component.isEmpty() || component.equals("-1") || component.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
                throw new ValidationException("unique_opts.by_args", "path",
                        "by_args path \"" + path + "\": components must be non-empty object keys, not array indexes");
            }
        }
        return components;
    }

    /**
     * River's order of selected paths: by the components joined with '.' (UTF-8 bytes), then by the
     * components escaped and joined, which tells a\.b from a.b.
     */
    private static int comparePaths(List<String> a, List<String> b) {
        int byJoined = compareBytes(String.join(".", a), String.join(".", b));
        return byJoined != 0 ? byJoined : compareBytes(escapedPath(a), escapedPath(b));
    }

    private static String escapedPath(List<String> components) {
        List<String> escaped = new ArrayList<>(components.size());
        for (String c : components) {
            escaped.add(c.replace("\\", "\\\\").replace(".", "\\."));
        }
        return String.join(".", escaped);
    }

    /** Only the selected dotted paths, set into an empty object in sorted path order; empty when none. */
    static String canonicalSelected(String encoded, List<String> paths) {
        object(encoded);
        List<List<String>> sorted = new ArrayList<>(paths.size());
        for (String path : paths) {
            sorted.add(pathComponents(path));
        }
        sorted.sort(UniqueKey::comparePaths);
        Map<String, Object> root = new LinkedHashMap<>();
        for (List<String> components : sorted) {
            String[] parts = components.toArray(String[]::new);
            String raw = lookup(encoded, parts, 0);
            if (raw != null) {
                set(root, parts, 0, raw);
            }
        }
        if (root.isEmpty()) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        write(root, out);
        return out.toString();
    }
}
