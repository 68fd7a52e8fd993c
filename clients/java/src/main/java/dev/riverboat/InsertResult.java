package dev.riverboat;

/** The inserted row, or the live duplicate with {@code uniqueSkippedAsDuplicate} set. */
public record InsertResult(Job job, boolean uniqueSkippedAsDuplicate) {}
