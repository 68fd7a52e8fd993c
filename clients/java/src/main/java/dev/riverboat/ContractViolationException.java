package dev.riverboat;

/**
 * Args that violate their kind's contract: spec/15's {@code contract_violation}, field
 * {@code args}, rule {@code contract}. Names the kind, the JSON pointer (RFC 6901) of the
 * offending value and the JSON Schema keyword it broke.
 */
public class ContractViolationException extends ValidationException {
    private static final long serialVersionUID = 1L;
    private final String kind;
    private final String pointer;
    private final String keyword;

    public ContractViolationException(String kind, String pointer, String keyword, String detail) {
        super("args", "contract", "args of kind " + kind + " at JSON pointer \"" + pointer + "\": " + keyword + ": " + detail);
        this.kind = kind;
        this.pointer = pointer;
        this.keyword = keyword;
    }

    public String kind() {
        return kind;
    }

    public String pointer() {
        return pointer;
    }

    public String keyword() {
        return keyword;
    }
}
