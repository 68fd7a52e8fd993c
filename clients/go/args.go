package riverboat

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// JobArgs is a job's args: any value that encoding/json encodes as a JSON object, with
// the kind it belongs to. It is River Go's interface, so River args types insert as is.
type JobArgs interface {
	Kind() string
}

// RawArgs are args of a kind this program has no Go type for, already encoded as a JSON
// object. They are stored and hashed as River Go would store a json.Marshaler returning
// these bytes: compacted, with <, >, & and U+2028/U+2029 escaped, members in the given
// order (which the unique key depends on).
type RawArgs struct {
	JobKind string
	JSON    json.RawMessage
}

// Kind implements JobArgs.
func (a RawArgs) Kind() string { return a.JobKind }

// MarshalJSON returns the raw bytes; encoding/json checks and compacts them.
func (a RawArgs) MarshalJSON() ([]byte, error) {
	if len(a.JSON) == 0 {
		return nil, errors.New("RawArgs.JSON is empty")
	}
	return a.JSON, nil
}

// MapArgs are args of a kind this program has no Go type for, as a map. encoding/json
// writes map members sorted by key, so the key order is not the caller's.
type MapArgs struct {
	JobKind string
	Args    map[string]any
}

// Kind implements JobArgs.
func (a MapArgs) Kind() string { return a.JobKind }

// MarshalJSON encodes the map; a nil map is the empty object, not null.
func (a MapArgs) MarshalJSON() ([]byte, error) {
	if a.Args == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(a.Args)
}

// EncodeArgs returns the args as they are stored and hashed: json.Marshal's bytes, as
// River Go computes them. Anything but a JSON object is rejected (field "args").
func EncodeArgs(args JobArgs) ([]byte, error) {
	if args == nil {
		return nil, invalid("args", "required", "args are required")
	}
	encoded, err := json.Marshal(args)
	if err != nil {
		return nil, invalid("args", "json", "args of kind %q do not encode as JSON: %v", args.Kind(), err)
	}
	if len(encoded) == 0 || encoded[0] != '{' {
		return nil, invalid("args", "type", "args of kind %q must encode a JSON object, got %s", args.Kind(), preview(encoded))
	}
	if err := rejectNUL("args", encoded); err != nil {
		return nil, err
	}
	return encoded, nil
}

// preview shortens a value for an error message.
func preview(b []byte) string {
	const limit = 40
	if len(b) <= limit {
		return string(b)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(bytes.Clone(b[:cut])) + "…"
}
