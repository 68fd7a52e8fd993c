package dev.riverboat;

/** Base of every riverboat error. */
public class RiverboatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RiverboatException(String message, Throwable cause) {
        super(message, cause);
    }
}
