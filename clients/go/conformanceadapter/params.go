package conformanceadapter

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// Insert is one job of an insert request (ADAPTER.md#insert-params), checked for shape
// but not for values: judging values is the client's job. Options the request leaves
// out are nil, or zero where the zero value is never sent.
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
	Unique      *Unique
}

// Unique is the unique options of an insert or of a unique_key request.
type Unique struct {
	ByArgs bool
	// ByArgsPaths is by_args's selected-fields form: non-nil (possibly empty) when
	// by_args was a list, or when unique_key gave selected_unique_paths.
	ByArgsPaths []string
	ByPeriod    time.Duration
	ByQueue     bool
	ByState     []string
	ExcludeKind bool
}

// UniqueKey is the params of unique_key (ADAPTER.md#unique-key).
type UniqueKey struct {
	Kind string
	// Args are the encoded args exactly as sent, as for Insert.
	Args  json.RawMessage
	Queue string
	Now   time.Time
	// ScheduledAt is zero when the request gives null.
	ScheduledAt time.Time
	Unique      Unique
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
		Unique      *struct {
			ByArgs      json.RawMessage `json:"by_args"`
			ByPeriodMs  *int64          `json:"by_period_ms"`
			ByQueue     bool            `json:"by_queue"`
			ByState     []string        `json:"by_state"`
			ExcludeKind bool            `json:"exclude_kind"`
		} `json:"unique"`
	} `json:"opts"`
}

type uniqueKeyParams struct {
	Kind          string          `json:"kind"`
	Args          json.RawMessage `json:"args"`
	ArgsJSON      *string         `json:"args_json"`
	Queue         string          `json:"queue"`
	Now           string          `json:"now"`
	ScheduledAt   *string         `json:"scheduled_at"`
	SelectedPaths []string        `json:"selected_unique_paths"`
	Options       struct {
		ByArgs        json.RawMessage `json:"by_args"`
		ByPeriodNanos int64           `json:"by_period_nanos"`
		ByQueue       bool            `json:"by_queue"`
		ByState       []string        `json:"by_state"`
		ExcludeKind   bool            `json:"exclude_kind"`
	} `json:"options"`
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
	job.Pending, job.Tags, job.Metadata = o.Pending, o.Tags, o.Metadata
	if o.ScheduledAt != nil {
		if job.ScheduledAt, rerr = parseTime("scheduled_at", *o.ScheduledAt); rerr != nil {
			return nil, rerr
		}
	}
	if u := o.Unique; u != nil {
		var period time.Duration
		if u.ByPeriodMs != nil {
			if *u.ByPeriodMs > math.MaxInt64/int64(time.Millisecond) || *u.ByPeriodMs < math.MinInt64/int64(time.Millisecond) {
				return nil, Invalid("unique.by_period", "range", "by_period_ms is out of range")
			}
			period = time.Duration(*u.ByPeriodMs) * time.Millisecond
		}
		unique, rerr := decodeUnique(u.ByArgs, period, u.ByQueue, u.ByState, u.ExcludeKind)
		if rerr != nil {
			return nil, rerr
		}
		job.Unique = &unique
	}
	return job, nil
}

// DecodeUniqueKey decodes the params of unique_key, ignoring the runner's bookkeeping
// members (name, expected_*).
func DecodeUniqueKey(raw json.RawMessage) (*UniqueKey, *Error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, BadParams("invalid params: %v", err)
	}
	for name := range members {
		if name == "name" || strings.HasPrefix(name, "expected_") {
			delete(members, name)
		}
	}
	cleaned, err := json.Marshal(members)
	if err != nil {
		return nil, BadParams("invalid params: %v", err)
	}
	var p uniqueKeyParams
	if rerr := DecodeParams(cleaned, &p); rerr != nil {
		return nil, rerr
	}
	// Re-encoding compacted the members, so the args text comes from the request itself.
	if p.Args != nil {
		p.Args = members["args"]
	}
	args, rerr := encodedArgs(p.Args, p.ArgsJSON)
	if rerr != nil {
		return nil, rerr
	}
	request := &UniqueKey{Kind: p.Kind, Args: args, Queue: p.Queue}
	if request.Now, rerr = parseTime("now", p.Now); rerr != nil {
		return nil, rerr
	}
	if p.ScheduledAt != nil {
		if request.ScheduledAt, rerr = parseTime("scheduled_at", *p.ScheduledAt); rerr != nil {
			return nil, rerr
		}
	}
	o := p.Options
	if request.Unique, rerr = decodeUnique(o.ByArgs, time.Duration(o.ByPeriodNanos), o.ByQueue, o.ByState, o.ExcludeKind); rerr != nil {
		return nil, rerr
	}
	if p.SelectedPaths != nil {
		request.Unique.ByArgsPaths = p.SelectedPaths
	}
	return request, nil
}

// encodedArgs picks the args as sent: exactly one of args and args_json.
func encodedArgs(args json.RawMessage, argsJSON *string) (json.RawMessage, *Error) {
	switch {
	case argsJSON != nil && args != nil:
		return nil, Invalid("args", "exclusive", "give args or args_json, not both")
	case argsJSON != nil:
		return json.RawMessage(*argsJSON), nil
	case args != nil:
		return args, nil
	default:
		return nil, Invalid("args", "required", "args are required")
	}
}

func decodeUnique(byArgs json.RawMessage, period time.Duration, byQueue bool, byState []string, excludeKind bool) (Unique, *Error) {
	unique := Unique{ByPeriod: period, ByQueue: byQueue, ByState: byState, ExcludeKind: excludeKind}
	switch string(bytes.TrimSpace(byArgs)) {
	case "", "null", "false":
	case "true":
		unique.ByArgs = true
	default:
		if err := json.Unmarshal(byArgs, &unique.ByArgsPaths); err != nil {
			return unique, BadParams("unique.by_args must be a boolean or a list of paths")
		}
	}
	return unique, nil
}

func parseTime(field, text string) (time.Time, *Error) {
	at, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, Invalid(field, "format", "%s is not an RFC 3339 timestamp: %q", field, text)
	}
	return at, nil
}
