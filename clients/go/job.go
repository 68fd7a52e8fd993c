package riverboat

import (
	"encoding/json"
	"time"
)

// Job is a river_job row as the database returned it (schema/json/job-row.schema.json).
type Job struct {
	ID int64
	// EncodedArgs is the args column as PostgreSQL's jsonb writes it (keys reordered).
	EncodedArgs json.RawMessage
	Attempt     int
	AttemptedAt *time.Time
	AttemptedBy []string
	CreatedAt   time.Time
	Errors      []AttemptError
	FinalizedAt *time.Time
	Kind        string
	MaxAttempts int
	Metadata    json.RawMessage
	Priority    int
	Queue       string
	ScheduledAt time.Time
	State       JobState
	Tags        []string
	// UniqueKey is the 32-byte key, or nil for a job that is not unique.
	UniqueKey []byte
	// UniqueStates are the states in which this row blocks a duplicate, or nil when the
	// column is NULL.
	UniqueStates []JobState
}

// AttemptError is one element of river_job.errors (schema/json/attempt-error.schema.json).
type AttemptError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
	Trace   string    `json:"trace"`
}

// InsertResult is the outcome of inserting one job.
type InsertResult struct {
	// Job is the inserted row, or for a duplicate the live row that blocked it, unchanged.
	Job *Job
	// UniqueSkippedAsDuplicate is true when a live job with the same unique key already
	// existed (in the table or earlier in the same batch) and nothing was inserted.
	UniqueSkippedAsDuplicate bool
}
