package riverboat

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// defaultUniqueStates block a duplicate unless UniqueOpts.ByState says otherwise: every
// state but cancelled and discarded (mask 245).
var defaultUniqueStates = []JobState{
	JobStateAvailable, JobStateCompleted, JobStatePending, JobStateRetryable, JobStateRunning, JobStateScheduled,
}

// requiredUniqueStates must be in a custom ByState, or a live job could be duplicated.
var requiredUniqueStates = []JobState{JobStateAvailable, JobStatePending, JobStateRunning, JobStateScheduled}

// UniqueStatesMask returns the unique_states bitmask for opts: bit i is set for the i-th
// state of JobStates(). Without ByState it is 245.
func UniqueStatesMask(opts UniqueOpts) byte {
	states := opts.ByState
	if len(states) == 0 {
		states = defaultUniqueStates
	}
	return statesToMask(states)
}

func statesToMask(states []JobState) byte {
	var mask byte
	for _, s := range states {
		if i := slices.Index(allStates, s); i >= 0 {
			mask |= 1 << i
		}
	}
	return mask
}

// MaskToStates is the inverse of the mask: the states whose bits are set, in bit order.
func MaskToStates(mask byte) []JobState {
	states := []JobState{}
	for i, s := range allStates {
		if mask&(1<<i) != 0 {
			states = append(states, s)
		}
	}
	return states
}

// Validate applies River's rules for unique options (spec/04-unique.md#options); the
// client calls it on every insert.
func (o *UniqueOpts) Validate() error {
	if o.isEmpty() {
		return nil
	}
	if o.ByPeriod != 0 && (o.ByPeriod < time.Second || o.ByPeriod%time.Second != 0) {
		return invalid("unique_opts.by_period", "range", "by_period must be a whole number of seconds, at least 1, got %s", o.ByPeriod)
	}
	for _, p := range o.ByArgsPaths {
		if _, err := splitPath(p); err != nil {
			return err
		}
	}
	if o.ExcludeKind && !o.ByArgs && len(o.ByArgsPaths) == 0 && !o.ByQueue && o.ByPeriod == 0 {
		return invalid("unique_opts.exclude_kind", "requires_dimension", "exclude_kind requires by_args, by_period or by_queue")
	}
	for _, s := range o.ByState {
		if !slices.Contains(allStates, s) {
			return invalid("unique_opts.by_state", "unknown_state", "by_state holds unknown state %q", s)
		}
	}
	if o.ByState != nil {
		var missing []string
		for _, s := range requiredUniqueStates {
			if !slices.Contains(o.ByState, s) {
				missing = append(missing, string(s))
			}
		}
		if missing != nil {
			return invalid("unique_opts.by_state", "required_states",
				"by_state must include available, pending, running and scheduled (missing %s)", strings.Join(missing, ", "))
		}
	}
	return nil
}

// UniqueKey computes the 32-byte unique key River Go stores for a job
// (spec/04-unique.md#unique-key). encodedArgs are the bytes EncodeArgs returned for
// args; args itself is consulted only for `river:"unique"` struct tags. queue is the
// resolved queue, scheduledAt the explicit scheduled time (zero if none) and now the
// inserter's clock. It does not validate opts; Client does before calling it. Options
// that make the job not unique give no key: nil, nil.
func UniqueKey(args JobArgs, encodedArgs []byte, queue string, opts UniqueOpts, scheduledAt, now time.Time) ([]byte, error) {
	if !opts.isUnique() {
		return nil, nil
	}
	s, err := uniqueKeyString(args, encodedArgs, queue, opts, scheduledAt, now)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(s))
	return sum[:], nil
}

// uniqueKeyString is the string whose SHA-256 is the key.
func uniqueKeyString(args JobArgs, encodedArgs []byte, queue string, opts UniqueOpts, scheduledAt, now time.Time) (string, error) {
	var sb strings.Builder
	if !opts.ExcludeKind {
		sb.WriteString("&kind=")
		sb.WriteString(args.Kind())
	}
	if opts.ByArgs || len(opts.ByArgsPaths) > 0 {
		canonical, err := canonicalArgs(args, encodedArgs, opts.ByArgsPaths)
		if err != nil {
			return "", err
		}
		sb.WriteString("&args=")
		sb.Write(canonical)
	}
	if opts.ByPeriod != 0 {
		at := now
		if !scheduledAt.IsZero() {
			at = scheduledAt
		}
		// Truncate counts periods from Go's zero time, which is what River Go does; the
		// bound is formatted in UTC whatever the time's location.
		sb.WriteString("&period=")
		sb.WriteString(at.Truncate(opts.ByPeriod).UTC().Format(time.RFC3339))
	}
	if opts.ByQueue {
		sb.WriteString("&queue=")
		sb.WriteString(queue)
	}
	return sb.String(), nil
}

// canonicalArgs is the args part of the key (spec/04-unique.md#canonical-args): selected
// paths when given explicitly or by struct tags, else every top-level member.
func canonicalArgs(args JobArgs, encoded []byte, explicitPaths []string) ([]byte, error) {
	var paths []fieldPath
	if len(explicitPaths) > 0 {
		for _, p := range explicitPaths {
			components, err := splitPath(p)
			if err != nil {
				return nil, err
			}
			paths = append(paths, newFieldPath(components))
		}
		sortFieldPaths(paths)
	} else {
		var err error
		if paths, err = uniqueTaggedPaths(reflect.TypeOf(args)); err != nil {
			return nil, err
		}
	}
	if len(paths) > 0 {
		return canonicalSelected(encoded, paths)
	}
	return canonicalAll(encoded)
}

// member is one member of an encoded JSON object: its unescaped key, the key's bytes as
// they appear in the source, and the raw bytes of its value.
type member struct {
	key    string
	rawKey []byte
	value  []byte
}

// objectMembers scans the top-level members of an encoded JSON object in source order.
// ok is false when the text is not an object.
func objectMembers(encoded []byte) (members []member, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(encoded))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		keyStart := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, isString := tok.(string)
		if !isString {
			return nil, false
		}
		rawKey := bytes.TrimLeft(encoded[keyStart:dec.InputOffset()], " \t\r\n,")
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		members = append(members, member{key: key, rawKey: rawKey, value: value})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return members, true
}

func notAnObject() error {
	return invalid("args", "type", "args must encode a JSON object")
}

// canonicalAll writes the top-level members sorted by key bytes, the first of repeated
// keys winning, values copied byte for byte.
func canonicalAll(encoded []byte) ([]byte, error) {
	members, ok := objectMembers(encoded)
	if !ok {
		return nil, notAnObject()
	}
	seen := make(map[string]bool, len(members))
	kept := members[:0:0]
	for _, m := range members {
		if !seen[m.key] {
			seen[m.key] = true
			kept = append(kept, m)
		}
	}
	slices.SortStableFunc(kept, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out := make([]byte, 0, len(encoded))
	out = append(out, '{')
	for i, m := range kept {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendKey(out, m.key)
		out = append(out, ':')
		out = append(out, m.value...)
	}
	return append(out, '}'), nil
}

// appendKey writes a key of the canonical args: verbatim between quotes when every byte
// is printable ASCII (0x20–0x7f) other than `"` and `\`, else as encoding/json writes the
// string. This asymmetry is River Go's (it matches how sjson writes keys).
func appendKey(out []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7f || c == '"' || c == '\\' {
			encoded, _ := json.Marshal(key)
			return append(out, encoded...)
		}
	}
	out = append(out, '"')
	out = append(out, key...)
	return append(out, '"')
}

// fieldPath is one selected path: its components, and two strings it sorts by.
type fieldPath struct {
	components []string
	sortKey    string // components joined with "."
	escaped    string // components escaped and joined; breaks ties of sortKey
}

func newFieldPath(components []string) fieldPath {
	escaped := make([]string, len(components))
	for i, c := range components {
		escaped[i] = strings.ReplaceAll(strings.ReplaceAll(c, `\`, `\\`), ".", `\.`)
	}
	return fieldPath{
		components: components,
		sortKey:    strings.Join(components, "."),
		escaped:    strings.Join(escaped, "."),
	}
}

func sortFieldPaths(paths []fieldPath) {
	slices.SortStableFunc(paths, func(a, b fieldPath) int {
		if c := strings.Compare(a.sortKey, b.sortKey); c != 0 {
			return c
		}
		return strings.Compare(a.escaped, b.escaped)
	})
}

// splitPath splits a dotted path on unescaped dots; a backslash makes the next character
// literal. Components must be non-empty object keys: River resolves numeric components
// as array indexes, which selected args do not support.
func splitPath(path string) ([]string, error) {
	if path == "" {
		return nil, invalid("unique_opts.by_args", "path", "a by_args path must not be empty")
	}
	var components []string
	var current strings.Builder
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '\\' && i+1 < len(path):
			i++
			current.WriteByte(path[i])
		case c == '.':
			components = append(components, current.String())
			current.Reset()
		default:
			current.WriteByte(c)
		}
	}
	components = append(components, current.String())
	for _, c := range components {
		if !isObjectKeyComponent(c) {
			return nil, invalid("unique_opts.by_args", "path",
				"by_args path %q: components must be non-empty object keys, not array indexes", path)
		}
	}
	return components, nil
}

func isObjectKeyComponent(c string) bool {
	if c == "" || c == "-1" {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return true
		}
	}
	return false
}

// lookup returns the raw value at path in an encoded object, taking the first member
// with each key; ok is false when the path is missing or crosses a non-object.
func lookup(encoded []byte, components []string) (value []byte, ok bool) {
	value = encoded
	for _, c := range components {
		members, isObject := objectMembers(value)
		if !isObject {
			return nil, false
		}
		i := slices.IndexFunc(members, func(m member) bool { return m.key == c })
		if i < 0 {
			return nil, false
		}
		value = members[i].value
	}
	return value, true
}

// outMember is a member of the selected-args object under construction: either a raw
// value or a nested object.
type outMember struct {
	key    string
	rawKey []byte
	raw    []byte
	object *outObject
}

type outObject struct {
	members []outMember
}

// objectFromRaw turns a raw value into an object to set paths into, keeping its members
// and their raw keys; a non-object value gives way to an empty object.
func objectFromRaw(raw []byte) *outObject {
	obj := &outObject{}
	if members, ok := objectMembers(raw); ok {
		for _, m := range members {
			obj.members = append(obj.members, outMember{key: m.key, rawKey: m.rawKey, raw: m.value})
		}
	}
	return obj
}

// set puts raw at components: an existing member is replaced in place (or descended
// into), a new one is appended.
func (o *outObject) set(components []string, raw []byte) {
	head, rest := components[0], components[1:]
	for i := range o.members {
		m := &o.members[i]
		if m.key != head {
			continue
		}
		if len(rest) == 0 {
			m.raw, m.object = raw, nil
			return
		}
		if m.object == nil {
			m.object = objectFromRaw(m.raw)
			m.raw = nil
		}
		m.object.set(rest, raw)
		return
	}
	m := outMember{key: head, rawKey: appendKey(nil, head)}
	if len(rest) == 0 {
		m.raw = raw
	} else {
		m.object = &outObject{}
		m.object.set(rest, raw)
	}
	o.members = append(o.members, m)
}

func (o *outObject) appendTo(out []byte) []byte {
	out = append(out, '{')
	for i, m := range o.members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, m.rawKey...)
		out = append(out, ':')
		if m.object != nil {
			out = m.object.appendTo(out)
		} else {
			out = append(out, m.raw...)
		}
	}
	return append(out, '}')
}

// canonicalSelected sets each present path, in sorted order, into an object that starts
// as nothing; the result is empty when no path is present.
func canonicalSelected(encoded []byte, paths []fieldPath) ([]byte, error) {
	if _, ok := objectMembers(encoded); !ok {
		return nil, notAnObject()
	}
	var out *outObject
	for _, p := range paths {
		raw, ok := lookup(encoded, p.components)
		if !ok {
			continue
		}
		if out == nil {
			out = &outObject{}
		}
		out.set(p.components, raw)
	}
	if out == nil {
		return []byte{}, nil
	}
	return out.appendTo(nil), nil
}

// taggedPathsCache holds the sorted `river:"unique"` paths of each args type.
var taggedPathsCache sync.Map // reflect.Type -> []fieldPath

// uniqueTaggedPaths finds the fields of an args struct tagged `river:"unique"` the way
// River Go does, so that typed args get River Go's keys: a field's key is its json tag
// name (the Go name when the tag has none); struct fields are descended into, and a
// tagged struct with no tagged fields of its own counts whole; embedded structs add no
// path component; unexported fields are skipped; a struct type already visited anywhere
// in the walk is not descended into again. Non-struct args have no tagged fields.
func uniqueTaggedPaths(typ reflect.Type) ([]fieldPath, error) {
	if typ == nil {
		return nil, nil
	}
	if cached, ok := taggedPathsCache.Load(typ); ok {
		return cached.([]fieldPath), nil //nolint:forcetypeassert // only []fieldPath is stored
	}
	var paths []fieldPath
	if structType(typ) {
		collectTaggedPaths(typ, nil, map[reflect.Type]bool{}, &paths)
	}
	for _, p := range paths {
		for _, c := range p.components {
			if !isObjectKeyComponent(c) {
				return nil, invalid("unique_opts.by_args", "path",
					"field tagged river:\"unique\" has JSON name %q, which River resolves as an array index", c)
			}
		}
	}
	sortFieldPaths(paths)
	taggedPathsCache.Store(typ, paths)
	return paths, nil
}

func structType(t reflect.Type) bool {
	return t.Kind() == reflect.Struct || (t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct)
}

func collectTaggedPaths(typ reflect.Type, prefix []string, seen map[reflect.Type]bool, out *[]fieldPath) {
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if seen[typ] {
		return
	}
	seen[typ] = true
	for i := 0; i < typ.NumField(); i++ {
		field := typ.Field(i)
		if !field.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if name == "" {
			name = field.Name
		}
		tagged := false
		if tag, ok := field.Tag.Lookup("river"); ok {
			for _, part := range strings.Split(tag, ",") {
				tagged = tagged || strings.TrimSpace(part) == "unique"
			}
		}
		path := append(slices.Clip(prefix), name)
		if structType(field.Type) {
			inner := path
			if field.Anonymous {
				inner = prefix
			}
			before := len(*out)
			collectTaggedPaths(field.Type, slices.Clip(inner), seen, out)
			if len(*out) == before && tagged {
				*out = append(*out, newFieldPath(path))
			}
			continue
		}
		if tagged {
			*out = append(*out, newFieldPath(path))
		}
	}
}
