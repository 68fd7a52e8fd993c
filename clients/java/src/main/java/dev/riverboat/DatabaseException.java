package dev.riverboat;

import java.sql.SQLException;

/** The database refused a statement; {@link #sqlState()} carries its SQLSTATE. */
public class DatabaseException extends RiverboatException {
    private static final long serialVersionUID = 1L;

    public DatabaseException(SQLException cause) {
        super("database error: " + cause.getMessage(), cause);
    }

    public String sqlState() {
        return ((SQLException) getCause()).getSQLState();
    }
}
