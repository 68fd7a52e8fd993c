package dev.riverboat;

/** Args that violate their kind's contract: names the kind, the JSON pointer and the rule. */
public class ContractViolationException extends RiverboatException {
    private static final long serialVersionUID = 1L;
    private final String kind;
    private final String pointer;
    private final String rule;

    public ContractViolationException(String kind, String pointer, String rule, String detail) {
        super("args violate the contract of " + kind + " at \"" + pointer + "\" (" + rule + "): " + detail, null);
        this.kind = kind;
        this.pointer = pointer;
        this.rule = rule;
    }

    public String kind() {
        return kind;
    }

    public String pointer() {
        return pointer;
    }

    public String rule() {
        return rule;
    }
}
