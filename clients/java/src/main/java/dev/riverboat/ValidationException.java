package dev.riverboat;

/** A bad option or args value, rejected before the database is touched; names field and rule. */
public class ValidationException extends RiverboatException {
    private static final long serialVersionUID = 1L;
    private final String field;
    private final String rule;

    public ValidationException(String field, String rule, String message) {
        super("invalid " + field + " (" + rule + "): " + message, null);
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
