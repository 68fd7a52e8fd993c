package main

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"riverboat.dev/go/riverboat/conformanceadapter"
)

// rawArgs carries the case's encoded args bytes straight to River, which marshals
// them (compacting and HTML-escaping, as it does for any Go args struct).
type rawArgs struct {
	kind string
	raw  json.RawMessage
}

func (a rawArgs) Kind() string                 { return a.kind }
func (a rawArgs) MarshalJSON() ([]byte, error) { return a.raw, nil }

func isObject(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// buildInsert maps one job of the protocol onto River's API. River takes a zero
// priority, max_attempts or queue to mean "default" and does not check args or metadata
// are objects, so those explicit values are refused here as River would refuse them.
func buildInsert(job *conformanceadapter.Insert) (river.InsertManyParams, *conformanceadapter.Error) {
	var out river.InsertManyParams
	if job.Kind == "" {
		return out, conformanceadapter.Invalid("kind", "required", "kind is required")
	}
	if !isObject(job.Args) || !json.Valid(job.Args) {
		return out, conformanceadapter.Invalid("args", "type", "args must be a JSON object")
	}
	opts := &river.InsertOpts{ScheduledAt: job.ScheduledAt, Pending: job.Pending, Tags: job.Tags}
	if job.Queue != nil {
		if *job.Queue == "" {
			return out, conformanceadapter.Invalid("queue", "length", "queue must not be empty")
		}
		opts.Queue = *job.Queue
	}
	if job.Priority != nil {
		if *job.Priority == 0 {
			return out, conformanceadapter.Invalid("priority", "range", "priority must be between 1 and 4")
		}
		opts.Priority = *job.Priority
	}
	if job.MaxAttempts != nil {
		if *job.MaxAttempts < 1 {
			return out, conformanceadapter.Invalid("max_attempts", "range", "max_attempts must be at least 1")
		}
		opts.MaxAttempts = *job.MaxAttempts
	}
	if len(job.Metadata) > 0 {
		if !isObject(job.Metadata) {
			return out, conformanceadapter.Invalid("metadata", "type", "metadata must be a JSON object")
		}
		opts.Metadata = job.Metadata
	}
	if job.Unique != nil {
		uniq, rerr := buildUnique(*job.Unique)
		if rerr != nil {
			return out, rerr
		}
		opts.UniqueOpts = uniq
	}
	return river.InsertManyParams{Args: rawArgs{kind: job.Kind, raw: job.Args}, InsertOpts: opts}, nil
}

func buildUnique(unique conformanceadapter.Unique) (river.UniqueOpts, *conformanceadapter.Error) {
	uniq := river.UniqueOpts{ByArgs: unique.ByArgs, ByPeriod: unique.ByPeriod, ByQueue: unique.ByQueue, ExcludeKind: unique.ExcludeKind}
	if unique.ByArgsPaths != nil {
		// Selected fields come from Go struct tags, which a raw-args adapter cannot have.
		return uniq, conformanceadapter.Unsupported("by_args with a list of fields needs typed Go args")
	}
	for _, state := range unique.ByState {
		uniq.ByState = append(uniq.ByState, rivertype.JobState(state))
	}
	return uniq, nil
}

// messageFields name the insert option behind each of River's validation messages, which
// are plain errors.
var messageFields = []struct{ prefix, field, rule string }{
	{"queue name", "queue", "pattern"},
	{"tags should be a maximum", "tags", "length"},
	{"tags should match", "tags", "pattern"},
	{"priority must", "priority", "range"},
	{"UniqueOpts.ByPeriod", "unique_opts.by_period", "range"},
	{"UniqueOpts.ByState", "unique_opts.by_state", "required_states"},
	{"UniqueOpts.ExcludeKind", "unique_opts.exclude_kind", "requires_dimension"},
	{"error marshaling args", "args", "type"},
	{"no jobs to insert", "jobs", "length"},
}

// classify turns River's errors into the adapter's error table.
func classify(err error) *conformanceadapter.Error {
	message := err.Error()
	for _, f := range messageFields {
		if strings.Contains(message, f.prefix) {
			return conformanceadapter.Invalid(f.field, f.rule, "%s", message)
		}
	}
	return conformanceadapter.Classify(err, conformanceadapter.CodeRejected)
}
