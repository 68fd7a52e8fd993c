package conformanceadapter

import (
	"bytes"
	"encoding/json"
	"math"
	"time"
)

// Insert is one job of an insert request (ADAPTER.md#insert-params), checked for shape
// but not for values: judging values is the client's job. Options the request leaves
// out, or sets to null, are nil, or zero where the zero value is never sent.
type Insert struct {
	Kind string
	// Args are the encoded args exactly as sent: args, or the text of args_json.
	Args        json.RawMessage
	Queue       *string
	Priority    *int
	MaxAttempts *int
	ScheduledAt time.Time
	Pending     bool
	Tags        []string
	Metadata    json.RawMessage
	// Unique is nil when the request has no unique_opts.
	Unique *Unique
}

// Unique is the unique options of an insert (opts.unique_opts).
type Unique struct {
	ByArgs bool
	// ByArgsPaths is by_args's selected-paths form: non-nil (possibly empty) when by_args
	// was a list.
	ByArgsPaths []string
	ByPeriod    time.Duration
	ByQueue     bool
	ByState     []string
	ExcludeKind bool
}

// UniqueKey is the params of unique_key (ADAPTER.md#unique-key): an insert's, and the
// clock to compute its key at.
type UniqueKey struct {
	Job *Insert
	Now time.Time
}

type insertParams struct {
	Kind     string          `json:"kind"`
	Args     json.RawMessage `json:"args"`
	ArgsJSON *string         `json:"args_json"`
	Opts     *struct {
		Queue       *string         `json:"queue"`
		Priority    *int            `json:"priority"`
		MaxAttempts *int            `json:"max_attempts"`
		ScheduledAt *string         `json:"scheduled_at"`
		Pending     bool            `json:"pending"`
		Tags        []string        `json:"tags"`
		Metadata    json.RawMessage `json:"metadata"`
		UniqueOpts  *struct {
			ByArgs          json.RawMessage `json:"by_args"`
			ByPeriodSeconds *float64        `json:"by_period_seconds"`
			ByQueue         bool            `json:"by_queue"`
			ByState         []string        `json:"by_state"`
			ExcludeKind     bool            `json:"exclude_kind"`
		} `json:"unique_opts"`
	} `json:"opts"`
}

type uniqueKeyParams struct {
	insertParams
	Now string `json:"now"`
}

// DecodeParams decodes a request's params into a struct, refusing unknown members
// (ADAPTER.md#insert-params).
func DecodeParams(raw json.RawMessage, into any) *Error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(into); err != nil {
		return BadParams("invalid params: %v", err)
	}
	return nil
}

// DecodeInsert decodes one job of insert, insert_many, tx_insert or tx_insert_many.
func DecodeInsert(raw json.RawMessage) (*Insert, *Error) {
	var p insertParams
	if rerr := DecodeParams(raw, &p); rerr != nil {
		return nil, rerr
	}
	return p.insert()
}

// DecodeUniqueKey decodes the params of unique_key.
func DecodeUniqueKey(raw json.RawMessage) (*UniqueKey, *Error) {
	var p uniqueKeyParams
	if rerr := DecodeParams(raw, &p); rerr != nil {
		return nil, rerr
	}
	job, rerr := p.insert()
	if rerr != nil {
		return nil, rerr
	}
	now, rerr := parseTime("now", p.Now)
	if rerr != nil {
		return nil, rerr
	}
	return &UniqueKey{Job: job, Now: now}, nil
}

func (p *insertParams) insert() (*Insert, *Error) {
	args, rerr := encodedArgs(p.Args, p.ArgsJSON)
	if rerr != nil {
		return nil, rerr
	}
	job := &Insert{Kind: p.Kind, Args: args}
	o := p.Opts
	if o == nil {
		return job, nil
	}
	job.Queue, job.Priority, job.MaxAttempts = o.Queue, o.Priority, o.MaxAttempts
	job.Pending, job.Tags, job.Metadata = o.Pending, o.Tags, absentIfNull(o.Metadata)
	if o.ScheduledAt != nil {
		if job.ScheduledAt, rerr = parseTime("scheduled_at", *o.ScheduledAt); rerr != nil {
			return nil, rerr
		}
	}
	if u := o.UniqueOpts; u != nil {
		var period time.Duration
		if u.ByPeriodSeconds != nil {
			seconds := *u.ByPeriodSeconds
			if seconds > float64(math.MaxInt64)/float64(time.Second) || seconds < float64(math.MinInt64)/float64(time.Second) {
				return nil, Invalid("unique_opts.by_period", "range", "by_period_seconds is out of range")
			}
			period = time.Duration(seconds * float64(time.Second))
		}
		unique := Unique{ByPeriod: period, ByQueue: u.ByQueue, ByState: u.ByState, ExcludeKind: u.ExcludeKind}
		switch string(bytes.TrimSpace(u.ByArgs)) {
		case "", "null", "false":
		case "true":
			unique.ByArgs = true
		default:
			if err := json.Unmarshal(u.ByArgs, &unique.ByArgsPaths); err != nil {
				return nil, Invalid("unique_opts.by_args", "type", "by_args must be a boolean or a list of paths")
			}
		}
		job.Unique = &unique
	}
	return job, nil
}

// absentIfNull is raw, or nil when raw is JSON null (ADAPTER.md#insert-params: null is absent).
func absentIfNull(raw json.RawMessage) json.RawMessage {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	return raw
}

// encodedArgs picks the args as sent: exactly one of args and args_json.
func encodedArgs(args json.RawMessage, argsJSON *string) (json.RawMessage, *Error) {
	args = absentIfNull(args)
	switch {
	case argsJSON != nil && args != nil:
		return nil, Invalid("args", "conflict", "give args or args_json, not both")
	case argsJSON != nil:
		return json.RawMessage(*argsJSON), nil
	case args != nil:
		return args, nil
	default:
		return nil, Invalid("args", "required", "args are required")
	}
}

func parseTime(field, text string) (time.Time, *Error) {
	at, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, Invalid(field, "format", "%s is not an RFC 3339 timestamp: %q", field, text)
	}
	return at, nil
}
