package conformanceadapter

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"time"
)

// InsertResult is one insert result (ADAPTER.md#insert-result).
type InsertResult struct {
	Job                      map[string]any `json:"job"`
	UniqueSkippedAsDuplicate bool           `json:"unique_skipped_as_duplicate"`
}

// NewInsertResult is the result of inserting job; see NormalizeJob for what job may be.
func NewInsertResult(job any, uniqueSkippedAsDuplicate bool) InsertResult {
	return InsertResult{Job: NormalizeJob(job), UniqueSkippedAsDuplicate: uniqueSkippedAsDuplicate}
}

// UniqueKeyResult is the result of unique_key; both members are null for a job that is
// not unique.
type UniqueKeyResult struct {
	SHA256    *string `json:"sha256"`
	StateMask *int    `json:"state_mask"`
}

// NewUniqueKeyResult is a unique_key result for a 32-byte key and a states bitmask, or
// for no key (a job that is not unique) when key is empty.
func NewUniqueKeyResult(key []byte, stateMask int) UniqueKeyResult {
	if len(key) == 0 {
		return UniqueKeyResult{}
	}
	text := hex.EncodeToString(key)
	return UniqueKeyResult{SHA256: &text, StateMask: &stateMask}
}

// stateWeights are the bits of the unique-states bitmask (spec/02-lifecycle.md).
var stateWeights = map[string]int{
	"available": 1, "cancelled": 2, "completed": 4, "discarded": 8,
	"pending": 16, "retryable": 32, "running": 64, "scheduled": 128,
}

// StateMask is the unique-states bitmask of a list of states.
func StateMask[S ~string](states []S) int {
	mask := 0
	for _, state := range states {
		mask |= stateWeights[string(state)]
	}
	return mask
}

// NormalizeJob writes a job row in the normalized form (ADAPTER.md#normalized-job).
// job is a *rivertype.JobRow of River Go or a *riverboat.Job, which mirrors it field for
// field; the fields are read by name, so that one copy serves both (and this package
// needs neither client).
func NormalizeJob(job any) map[string]any {
	row := reflect.Indirect(reflect.ValueOf(job))
	field := func(name string) reflect.Value {
		value := row.FieldByName(name)
		if !value.IsValid() {
			panic(fmt.Sprintf("conformanceadapter: %s has no field %s", row.Type(), name))
		}
		return value
	}
	errorsOut := make([]map[string]any, 0, field("Errors").Len())
	for _, e := range field("Errors").Seq2() {
		errorsOut = append(errorsOut, map[string]any{
			"at":      stamp(e.FieldByName("At")),
			"attempt": e.FieldByName("Attempt").Int(),
			"error":   e.FieldByName("Error").String(),
			"trace":   e.FieldByName("Trace").String(),
		})
	}
	var uniqueKey, uniqueStates any
	if key := field("UniqueKey").Bytes(); len(key) > 0 {
		uniqueKey = hex.EncodeToString(key)
	}
	if states := field("UniqueStates"); !states.IsNil() {
		names := make([]string, 0, states.Len())
		for _, state := range states.Seq2() {
			names = append(names, state.String())
		}
		slices.Sort(names)
		uniqueStates = names
	}
	metadata := json.RawMessage(field("Metadata").Bytes())
	if len(metadata) == 0 {
		metadata = json.RawMessage("{}")
	}
	return map[string]any{
		"id":            field("ID").Int(),
		"args":          json.RawMessage(field("EncodedArgs").Bytes()),
		"attempt":       field("Attempt").Int(),
		"attempted_at":  stamp(field("AttemptedAt")),
		"attempted_by":  stringList(field("AttemptedBy")),
		"created_at":    stamp(field("CreatedAt")),
		"errors":        errorsOut,
		"finalized_at":  stamp(field("FinalizedAt")),
		"kind":          field("Kind").String(),
		"max_attempts":  field("MaxAttempts").Int(),
		"metadata":      metadata,
		"priority":      field("Priority").Int(),
		"queue":         field("Queue").String(),
		"scheduled_at":  stamp(field("ScheduledAt")),
		"state":         field("State").String(),
		"tags":          stringList(field("Tags")),
		"unique_key":    uniqueKey,
		"unique_states": uniqueStates,
	}
}

// timeText is a timestamp as the protocol writes it: UTC, with a Z.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999999999Z") }

// stamp is a time.Time or *time.Time field as a timestamp, or nil.
func stamp(value reflect.Value) any {
	if value.Kind() == reflect.Pointer {
		if value.IsNil() {
			return nil
		}
		value = value.Elem()
	}
	return timeText(value.Interface().(time.Time))
}

// stringList is a list field as a list, [] for NULL.
func stringList(value reflect.Value) []string {
	out := make([]string, 0, value.Len())
	for _, item := range value.Seq2() {
		out = append(out, item.String())
	}
	return out
}
