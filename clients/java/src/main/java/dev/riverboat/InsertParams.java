package dev.riverboat;

/**
 * One job to insert. {@code args} is a Map (insertion order kept, e.g. LinkedHashMap) or a
 * {@link Json.Raw} holding pre-encoded JSON; it must be a JSON object.
 */
public record InsertParams(String kind, Object args, InsertOpts opts) {
    public InsertParams(String kind, Object args) {
        this(kind, args, new InsertOpts());
    }
}
