package riverboat

import (
	"encoding/json"
	"slices"
	"time"
)

// JobState is a value of the river_job_state enum.
type JobState string

// The states of river_job_state, in the enum's order, which also numbers the bits of the
// unique-states mask (bit 0, value 1, is available).
const (
	JobStateAvailable JobState = "available"
	JobStateCancelled JobState = "cancelled"
	JobStateCompleted JobState = "completed"
	JobStateDiscarded JobState = "discarded"
	JobStatePending   JobState = "pending"
	JobStateRetryable JobState = "retryable"
	JobStateRunning   JobState = "running"
	JobStateScheduled JobState = "scheduled"
)

// allStates lists every state in bit order.
var allStates = []JobState{
	JobStateAvailable, JobStateCancelled, JobStateCompleted, JobStateDiscarded,
	JobStatePending, JobStateRetryable, JobStateRunning, JobStateScheduled,
}

// JobStates returns every state in bit order (a fresh slice).
func JobStates() []JobState { return slices.Clone(allStates) }

// InsertOpts are the options of one insert, or a kind's insert defaults. As in River Go,
// a zero value means "not set": the kind's defaults apply, then the client's, then the
// protocol's (queue "default", priority 1, max_attempts 25).
type InsertOpts struct {
	// Queue is 1–64 lowercase letters and digits with single _, - or | separators.
	Queue string
	// Priority is 1 (runs first) to 4.
	Priority int
	// MaxAttempts is 1 to 32767.
	MaxAttempts int
	// ScheduledAt, when set, inserts the job as scheduled, even if the time is past.
	ScheduledAt time.Time
	// Pending inserts the job as pending (it waits until something makes it available).
	Pending bool
	// Tags, when non-nil, replaces the kind's tags; an empty non-nil slice means no tags.
	// Each tag is 3–255 ASCII letters, digits or _, with - allowed inside.
	Tags []string
	// Metadata is a JSON object; keys beginning "river:" are reserved for River.
	Metadata json.RawMessage
	// UniqueOpts makes the job unique (spec/04-unique.md).
	UniqueOpts UniqueOpts
}

// UniqueOpts decide whether a job is unique and which jobs count as its duplicates. The
// job is unique when ByArgs, ByArgsPaths, ByPeriod, ByQueue or ByState is set.
type UniqueOpts struct {
	// ByArgs puts the args in the unique key. When the args are a struct with fields
	// tagged `river:"unique"`, only those fields count, exactly as in River Go;
	// otherwise all top-level args count.
	ByArgs bool
	// ByArgsPaths puts only these dotted paths of the args in the key (for args without
	// a Go struct, e.g. RawArgs). A backslash makes the next character literal, so
	// `a\.b` is the single key "a.b". A non-empty list implies ByArgs and takes the place
	// of struct tags; an empty one counts as unset.
	ByArgsPaths []string
	// ByPeriod puts the period containing the job's scheduled time (or now) in the key.
	// It must be a whole number of seconds, at least one.
	ByPeriod time.Duration
	// ByQueue puts the queue in the key.
	ByQueue bool
	// ByState lists the states in which an existing job blocks a duplicate; it must
	// include available, pending, running and scheduled. Nil means every state but
	// cancelled and discarded; an empty non-nil list is rejected.
	ByState []JobState
	// ExcludeKind leaves the kind out of the key, so jobs of different kinds can be
	// duplicates. It needs ByArgs, ByArgsPaths, ByPeriod or ByQueue.
	ExcludeKind bool
}

func (o *UniqueOpts) isEmpty() bool {
	return !o.isUnique() && !o.ExcludeKind
}

// isUnique says whether the options make a job unique (spec/04-unique.md#options).
func (o *UniqueOpts) isUnique() bool {
	return o.ByArgs || len(o.ByArgsPaths) > 0 || o.ByPeriod != 0 || o.ByQueue || o.ByState != nil
}

// JobArgsWithInsertOpts is implemented by args types that carry their kind's insert
// defaults, as River Go's interface of the same name.
type JobArgsWithInsertOpts interface {
	JobArgs
	InsertOpts() InsertOpts
}

// InsertManyParams is one job of a batch.
type InsertManyParams struct {
	Args       JobArgs
	InsertOpts *InsertOpts
}
