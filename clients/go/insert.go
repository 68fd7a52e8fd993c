package riverboat

import (
	"cmp"
	"time"
)

// Protocol defaults (spec/03-insert.md#parameters).
const (
	QueueDefault       = "default"
	PriorityDefault    = 1
	MaxAttemptsDefault = 25
)

// row is one job resolved to the values of its river_job columns.
type row struct {
	kind         string
	args         []byte
	queue        string
	priority     int
	maxAttempts  int
	scheduledAt  time.Time
	state        JobState
	tags         []string
	metadata     string
	uniqueKey    []byte // nil for a job that is not unique
	uniqueStates int    // the bitmask; meaningful only with uniqueKey
}

// kindDefaults are the insert defaults of the args' kind: the args type's own
// InsertOpts(), else the kind's entry in the client's contract.
func (c *Client) kindDefaults(args JobArgs) InsertOpts {
	if withOpts, ok := args.(JobArgsWithInsertOpts); ok {
		return withOpts.InsertOpts()
	}
	if c.contract != nil {
		if entry, ok := c.contract.kinds[args.Kind()]; ok && entry.insertOpts != nil {
			return *entry.insertOpts
		}
	}
	return InsertOpts{}
}

// resolve validates one job and turns it into column values, with no database. Each
// option comes from the first source that sets it: the insert's options, the kind's
// defaults, the client's configuration, the protocol's default.
func (c *Client) resolve(args JobArgs, opts *InsertOpts, now time.Time) (*row, error) {
	if args == nil {
		return nil, invalid("args", "required", "args are required")
	}
	kind := args.Kind()
	if err := ValidateKind(kind); err != nil {
		return nil, err
	}
	encoded, err := EncodeArgs(args)
	if err != nil {
		return nil, err
	}
	if c.contract != nil {
		if c.config.StrictContract && !c.contract.Has(kind) {
			return nil, &UnknownKindError{Kind: kind}
		}
		if err := c.contract.Check(kind, encoded); err != nil {
			return nil, err
		}
	}
	if opts == nil {
		opts = &InsertOpts{}
	}
	defaults := c.kindDefaults(args)

	r := &row{
		kind:        kind,
		args:        encoded,
		queue:       cmp.Or(opts.Queue, defaults.Queue, c.config.Queue, QueueDefault),
		priority:    cmp.Or(opts.Priority, defaults.Priority, c.config.Priority, PriorityDefault),
		maxAttempts: cmp.Or(opts.MaxAttempts, defaults.MaxAttempts, c.config.MaxAttempts, MaxAttemptsDefault),
		scheduledAt: now,
		state:       JobStateAvailable,
	}
	if err := ValidateQueue(r.queue); err != nil {
		return nil, err
	}
	if err := ValidatePriority(r.priority); err != nil {
		return nil, err
	}
	if err := ValidateMaxAttempts(r.maxAttempts); err != nil {
		return nil, err
	}

	r.tags = opts.Tags
	if r.tags == nil {
		r.tags = defaults.Tags
	}
	if r.tags == nil {
		r.tags = []string{}
	}
	if err := ValidateTags(r.tags); err != nil {
		return nil, err
	}

	metadata := opts.Metadata
	if len(metadata) == 0 {
		metadata = defaults.Metadata
	}
	if r.metadata, err = encodeMetadata(metadata); err != nil {
		return nil, err
	}

	explicitAt := opts.ScheduledAt
	if explicitAt.IsZero() {
		explicitAt = defaults.ScheduledAt
	}
	switch {
	case opts.Pending || defaults.Pending:
		r.state = JobStatePending
	case !explicitAt.IsZero():
		r.state = JobStateScheduled
	}
	if !explicitAt.IsZero() {
		r.scheduledAt = explicitAt
	}

	unique := opts.UniqueOpts
	if unique.isEmpty() {
		unique = defaults.UniqueOpts
	}
	if err := unique.Validate(); err != nil {
		return nil, err
	}
	if unique.isUnique() {
		// The period counts from the explicit scheduled time, so a job scheduled for
		// tomorrow dedupes against tomorrow's period, not today's.
		if r.uniqueKey, err = UniqueKey(args, encoded, r.queue, unique, explicitAt, now); err != nil {
			return nil, err
		}
		r.uniqueStates = int(UniqueStatesMask(unique))
	}
	return r, nil
}

// batch is a set of resolved jobs with repeated unique keys folded: PostgreSQL refuses an
// ON CONFLICT DO UPDATE statement that touches one row twice, so each key is sent once
// and later jobs with that key are answered with the first one's row.
type batch struct {
	rows    []*row // sent to the database, in input order
	sources []int  // for each input job, the index in rows of the row answering it
	repeats []bool // for each input job, whether it repeats a key seen earlier
}

func foldDuplicates(resolved []*row) *batch {
	b := &batch{sources: make([]int, len(resolved)), repeats: make([]bool, len(resolved))}
	first := map[string]int{}
	for i, r := range resolved {
		if r.uniqueKey != nil {
			if at, seen := first[string(r.uniqueKey)]; seen {
				b.sources[i], b.repeats[i] = at, true
				continue
			}
			first[string(r.uniqueKey)] = len(b.rows)
		}
		b.sources[i] = len(b.rows)
		b.rows = append(b.rows, r)
	}
	return b
}
