package dev.riverboat;

import java.util.Set;

/**
 * A bad option or args value, rejected before the database is touched. It names the field
 * and the rule in spec/15-errors.md's vocabulary: the option as spec/03-insert.md spells it
 * ({@code queue}, {@code unique_opts.by_state}, ...) and one of {@link #RULES}.
 */
public class ValidationException extends RiverboatException {
    private static final long serialVersionUID = 1L;

    /** spec/15-errors.md's rule codes, the only words {@link #rule()} returns. */
    public static final Set<String> RULES = Set.of(
            "type", "range", "length", "pattern", "format", "json", "reserved", "required", "choice",
            "duplicate", "conflict", "path", "required_states", "unknown_state", "requires_dimension", "contract");

    private final String field;
    private final String rule;

    public ValidationException(String field, String rule, String message) {
        super("invalid " + field + " (" + rule + "): " + message, null);
        if (!RULES.contains(rule)) {
            throw new IllegalArgumentException("\"" + rule + "\" is not a rule code of spec/15-errors.md");
        }
        this.field = field;
        this.rule = rule;
    }

    public String field() {
        return field;
    }

    public String rule() {
        return rule;
    }
}
