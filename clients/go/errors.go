package riverboat

import (
	"errors"
	"fmt"
	"strings"
)

// ValidationError reports an insert option or args value that breaks a rule of
// spec/03-insert.md or spec/04-unique.md. It is returned before anything is sent to the
// database, and a batch holding one such job writes nothing. Field and Rule are in
// spec/15-errors.md's vocabulary, shared by every riverboat client.
type ValidationError struct {
	// Field is the option that was rejected, as spec/03-insert.md spells it: "kind", "args",
	// "queue", "priority", "max_attempts", "scheduled_at", "tags", "metadata",
	// "unique_opts.by_args", "unique_opts.by_period", "unique_opts.by_state",
	// "unique_opts.exclude_kind", "contract", "schema", ...
	Field string
	// Rule is one of spec/15-errors.md's rule codes: "type", "range", "length", "pattern",
	// "format", "json", "reserved", "required", "path", "required_states", "unknown_state",
	// "requires_dimension", "contract", ...
	Rule string
	// Message says what was wrong in words, with the offending value where it helps.
	Message string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("riverboat: invalid %s (%s): %s", e.Field, e.Rule, e.Message)
}

func invalid(field, rule, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

// ArgsContractError reports args that break their kind's JSON Schema in the client's
// job-args contract (spec/05-args-contract.md#check).
type ArgsContractError struct {
	Kind string
	// Pointer is the RFC 6901 JSON pointer of the offending value inside the args
	// ("" for the args object itself).
	Pointer string
	// Keyword is the JSON Schema keyword that failed ("type", "required", ...).
	Keyword string
	Message string
}

func (e *ArgsContractError) Error() string {
	return fmt.Sprintf("riverboat: args of kind %q at JSON pointer %q: %s: %s", e.Kind, e.Pointer, e.Keyword, e.Message)
}

// UnknownKindError reports a kind that a client in strict contract mode does not know.
type UnknownKindError struct {
	Kind string
}

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("riverboat: kind %q is not in the client's job-args contract", e.Kind)
}

// JobError says which job of a batch was rejected; Unwrap gives the reason
// (*ValidationError, *ArgsContractError or *UnknownKindError), for errors.As.
type JobError struct {
	Index int
	Err   error
}

func (e *JobError) Error() string {
	return fmt.Sprintf("riverboat: job %d of the batch: %s", e.Index, strings.TrimPrefix(e.Err.Error(), "riverboat: "))
}
func (e *JobError) Unwrap() error { return e.Err }

// unwrapJobError drops the batch position from the error of a one-job batch.
func unwrapJobError(err error) error {
	var jobErr *JobError
	if errors.As(err, &jobErr) {
		return jobErr.Err
	}
	return err
}

// jsonPointer builds an RFC 6901 pointer from path components.
func jsonPointer(components []string) string {
	var b strings.Builder
	for _, c := range components {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(c, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
