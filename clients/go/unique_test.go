package riverboat

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var vectorNow = mustTime("2026-01-02T03:04:05.6789Z")

func mustTime(text string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is one entry of conformance/fixtures/unique_keys.json, the golden keys shared
// by every client: unique_key's params (conformance/ADAPTER.md#unique-key) and its result.
type fixture struct {
	Name   string `json:"name"`
	Params struct {
		Kind string `json:"kind"`
		Args string `json:"args_json"`
		Now  string `json:"now"`
		Opts struct {
			Queue       string  `json:"queue"`
			ScheduledAt *string `json:"scheduled_at"`
			UniqueOpts  struct {
				ByArgs          json.RawMessage `json:"by_args"`
				ByPeriodSeconds *int64          `json:"by_period_seconds"`
				ByQueue         bool            `json:"by_queue"`
				ByState         []JobState      `json:"by_state"`
				ExcludeKind     bool            `json:"exclude_kind"`
			} `json:"unique_opts"`
		} `json:"opts"`
	} `json:"params"`
	Expected struct {
		SHA256    string `json:"sha256"`
		StateMask byte   `json:"state_mask"`
	} `json:"expected"`
}

func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", "conformance", "fixtures", "unique_keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fixtures []fixture
	if err := json.Unmarshal(text, &fixtures); err != nil {
		t.Fatal(err)
	}
	if len(fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	return fixtures
}

func (f *fixture) opts(t *testing.T) (UniqueOpts, time.Time) {
	t.Helper()
	u := f.Params.Opts.UniqueOpts
	o := UniqueOpts{ByQueue: u.ByQueue, ByState: u.ByState, ExcludeKind: u.ExcludeKind}
	switch string(u.ByArgs) {
	case "true":
		o.ByArgs = true
	case "false", "":
	default:
		if err := json.Unmarshal(u.ByArgs, &o.ByArgsPaths); err != nil {
			t.Fatal(err)
		}
	}
	if u.ByPeriodSeconds != nil {
		o.ByPeriod = time.Duration(*u.ByPeriodSeconds) * time.Second
	}
	var scheduledAt time.Time
	if f.Params.Opts.ScheduledAt != nil {
		scheduledAt = mustTime(*f.Params.Opts.ScheduledAt)
	}
	return o, scheduledAt
}

func TestUniqueKeyFixtures(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			opts, scheduledAt := f.opts(t)
			if err := opts.Validate(); err != nil {
				t.Fatal(err)
			}
			args := RawArgs{JobKind: f.Params.Kind, JSON: json.RawMessage(f.Params.Args)}
			encoded, err := EncodeArgs(args)
			if err != nil {
				t.Fatal(err)
			}
			key, err := UniqueKey(args, encoded, f.Params.Opts.Queue, opts, scheduledAt, mustTime(f.Params.Now))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(key); got != f.Expected.SHA256 {
				t.Errorf("key %s, want %s", got, f.Expected.SHA256)
			}
			if got := UniqueStatesMask(opts); got != f.Expected.StateMask {
				t.Errorf("mask %d, want %d", got, f.Expected.StateMask)
			}
		})
	}
}

// The strings hashed for the vectors of spec/04-unique.md#vectors.
func TestUniqueKeyStrings(t *testing.T) {
	selection := []string{"account.id", "account.region", "label", "path/key"}
	cases := []struct {
		kind, args, queue string
		opts              UniqueOpts
		scheduledAt       string
		want              string
	}{
		{"conformance_simple", `{"id":42}`, "default", UniqueOpts{ByPeriod: 90 * time.Minute}, "",
			"&kind=conformance_simple&period=2026-01-02T03:00:00Z"},
		{"conformance_simple", `{"id":42}`, "default", UniqueOpts{ByPeriod: time.Hour}, "2026-01-02T05:21:05.6789Z",
			"&kind=conformance_simple&period=2026-01-02T05:00:00Z"},
		{"conformance_simple", `{"id":42}`, "priority_emails", UniqueOpts{ByQueue: true, ExcludeKind: true}, "",
			"&queue=priority_emails"},
		{"conformance_simple", `{"id":42}`, "priority_emails",
			UniqueOpts{ByArgs: true, ByPeriod: time.Minute, ByQueue: true, ByState: []JobState{"available", "completed", "pending", "running", "scheduled"}},
			"2026-01-02T05:21:05.6789Z",
			`&kind=conformance_simple&args={"id":42}&period=2026-01-02T05:21:00Z&queue=priority_emails`},
		{"conformance_all_args", `{}`, "default", UniqueOpts{ByArgs: true}, "", `&kind=conformance_all_args&args={}`},
		{"conformance_all_args", `{"nested":{"z":1,"a":2}}`, "default", UniqueOpts{ByArgs: true}, "",
			`&kind=conformance_all_args&args={"nested":{"z":1,"a":2}}`},
		{"conformance_selected_args", `{}`, "default", UniqueOpts{ByArgsPaths: selection}, "",
			`&kind=conformance_selected_args&args=`},
		{"conformance_selected_args", `{"account":{"id":"acct-123","ignored":"not selected"},"ignored":true,"label":"selected"}`,
			"default", UniqueOpts{ByArgsPaths: selection}, "",
			`&kind=conformance_selected_args&args={"account":{"id":"acct-123"},"label":"selected"}`},
		{"conformance_selected_args", `{"label":null}`, "default", UniqueOpts{ByArgsPaths: selection}, "",
			`&kind=conformance_selected_args&args={"label":null}`},
	}
	for _, c := range cases {
		var scheduledAt time.Time
		if c.scheduledAt != "" {
			scheduledAt = mustTime(c.scheduledAt)
		}
		args := RawArgs{JobKind: c.kind, JSON: json.RawMessage(c.args)}
		got, err := uniqueKeyString(args, []byte(c.args), c.queue, c.opts, scheduledAt, vectorNow)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s %s: key string %q, want %q", c.kind, c.args, got, c.want)
		}
	}
}

// Periods count from Go's zero time, not the Unix epoch (spec/04-unique.md#period).
func TestPeriodLowerBound(t *testing.T) {
	cases := []struct {
		period time.Duration
		at     string
		want   string
	}{
		{7 * 24 * time.Hour, "2026-01-02T03:04:05.6789Z", "2025-12-29T00:00:00Z"},
		{7 * time.Minute, "2026-01-02T03:04:05.6789Z", "2026-01-02T03:03:00Z"},
		{90 * time.Minute, "2026-01-02T03:04:05.6789Z", "2026-01-02T03:00:00Z"},
		// The bound is an instant, written in UTC whatever the offset it was given in.
		{time.Hour, "2026-01-02T08:34:05+05:30", "2026-01-02T03:00:00Z"},
	}
	for _, c := range cases {
		args := RawArgs{JobKind: "k", JSON: json.RawMessage(`{}`)}
		got, err := uniqueKeyString(args, []byte(`{}`), "default", UniqueOpts{ByPeriod: c.period, ExcludeKind: true}, time.Time{}, mustTime(c.at))
		if err != nil {
			t.Fatal(err)
		}
		if want := "&period=" + c.want; got != want {
			t.Errorf("%s at %s: %q, want %q", c.period, c.at, got, want)
		}
	}
}

func TestCanonicalAll(t *testing.T) {
	cases := map[string]string{
		`{"b":1,"a":2}`:              `{"a":2,"b":1}`,
		`{"b":1,"a":2,"b":3}`:        `{"a":2,"b":1}`,
		`{"nested":{"z":1,"a":2}}`:   `{"nested":{"z":1,"a":2}}`,
		`{}`:                         `{}`,
		`{"\u003ck\u003e":1}`:        `{"<k>":1}`,
		`{"é":1,"a\tb":2}`:           `{"a\tb":2,"é":1}`,
		`{"a.b":1,"":2}`:             `{"":2,"a.b":1}`,
		`{"x":[3,2,1],"q":"\u2028"}`: `{"q":"\u2028","x":[3,2,1]}`,
		// Keys sort by UTF-8 bytes: "Z" (0x5a) < "a" < "é" (0xc3 0xa9).
		`{"é":1,"a":2,"Z":3}`: `{"Z":3,"a":2,"é":1}`,
	}
	for in, want := range cases {
		got, err := canonicalAll([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if string(got) != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{`[1,2]`, `"s"`, `null`, `{"a":1`} {
		if _, err := canonicalAll([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestCanonicalSelected(t *testing.T) {
	cases := []struct {
		args  string
		paths []string
		want  string
	}{
		{`{"b":{"y":1,"x":2},"a":3}`, []string{"b.x", "a"}, `{"a":3,"b":{"x":2}}`},
		// A path and a path below it: the whole value, then the member replaced in place.
		{`{"a":{"z":1,"y":2}}`, []string{"a.y", "a"}, `{"a":{"z":1,"y":2}}`},
		// An escaped dot is part of the key.
		{`{"a.b":1,"a":{"b":2}}`, []string{`a\.b`}, `{"a.b":1}`},
		{`{"a.b":1,"a":{"b":2}}`, []string{"a.b"}, `{"a":{"b":2}}`},
		// The first of repeated keys wins; a path through a non-object is missing.
		{`{"k":1,"k":2,"s":"x"}`, []string{"k", "s.t"}, `{"k":1}`},
		{`{"n":null}`, []string{"n", "missing"}, `{"n":null}`},
		{`{"x":1}`, []string{"missing"}, ``},
		// New keys are written verbatim when printable ASCII, else encoded.
		{`{"\u003cb\u003e":1,"ключ":2}`, []string{"<b>", "ключ"}, `{"<b>":1,"ключ":2}`},
	}
	for _, c := range cases {
		got, err := canonicalArgs(RawArgs{JobKind: "k"}, []byte(c.args), c.paths)
		if err != nil {
			t.Fatalf("%s %v: %v", c.args, c.paths, err)
		}
		if string(got) != c.want {
			t.Errorf("%s %v: %s, want %s", c.args, c.paths, got, c.want)
		}
	}
}

func TestSplitPath(t *testing.T) {
	good := map[string][]string{
		"a":        {"a"},
		"a.b":      {"a", "b"},
		`a\.b`:     {"a.b"},
		`a\\.b`:    {`a\`, "b"},
		"path/key": {"path/key"},
		"v1.x":     {"v1", "x"},
	}
	for in, want := range good {
		got, err := splitPath(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %q, want %q", in, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%q: %q, want %q", in, got, want)
			}
		}
	}
	for _, bad := range []string{"", "a..b", ".a", "a.", "items.0", "-1"} {
		_, err := splitPath(bad)
		assertValidation(t, err, "unique_opts.by_args", "path")
	}
}

type account struct {
	ID     string `json:"id" river:"unique"`
	Region string `json:"region" river:"unique"`
	Plan   string `json:"plan"`
}

// taggedArgs selects the same paths as the fixtures' selected args, by struct tags.
type taggedArgs struct {
	Account account `json:"account"`
	Ignored bool    `json:"ignored"`
	Label   *string `json:"label,omitempty" river:"unique"`
	PathKey string  `json:"path/key,omitempty" river:"other,unique"`
}

func (taggedArgs) Kind() string { return "conformance_selected_args" }

type wholeStructArgs struct {
	Customer *account `json:"customer" river:"unique"` // has tagged fields: those count
	Address  struct {
		City string `json:"city"`
	} `json:"address" river:"unique"` // no tagged fields: the whole value counts
	Note string `json:"note"`
}

func (wholeStructArgs) Kind() string { return "whole" }

type embeddedArgs struct {
	account        // embedded: its fields stay at the top level
	Extra   string `json:"extra" river:"unique"`
	hidden  string //nolint:unused // unexported fields never count
}

func (embeddedArgs) Kind() string { return "embedded" }

func TestTaggedFieldsMatchExplicitPaths(t *testing.T) {
	label := "selected"
	cases := []struct {
		args  JobArgs
		paths []string
	}{
		{taggedArgs{Account: account{ID: "acct-123", Plan: "x"}, Ignored: true, Label: &label},
			[]string{"account.id", "account.region", "label", "path/key"}},
		{wholeStructArgs{Customer: &account{ID: "c"}, Note: "n"}, []string{"customer.id", "customer.region", "address"}},
		{wholeStructArgs{}, []string{"customer.id", "customer.region", "address"}},
		{embeddedArgs{account: account{ID: "e"}, Extra: "x"}, []string{"extra"}},
	}
	for _, c := range cases {
		encoded, err := EncodeArgs(c.args)
		if err != nil {
			t.Fatal(err)
		}
		byTags, err := UniqueKey(c.args, encoded, "default", UniqueOpts{ByArgs: true}, time.Time{}, vectorNow)
		if err != nil {
			t.Fatal(err)
		}
		raw := RawArgs{JobKind: c.args.Kind(), JSON: encoded}
		byPaths, err := UniqueKey(raw, encoded, "default", UniqueOpts{ByArgsPaths: c.paths}, time.Time{}, vectorNow)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(byTags) != hex.EncodeToString(byPaths) {
			s1, _ := uniqueKeyString(c.args, encoded, "default", UniqueOpts{ByArgs: true}, time.Time{}, vectorNow)
			s2, _ := uniqueKeyString(raw, encoded, "default", UniqueOpts{ByArgsPaths: c.paths}, time.Time{}, vectorNow)
			t.Errorf("%T: tags give %q, paths give %q", c.args, s1, s2)
		}
	}
}

// The typed form of the fixture selected_args_some_present gives the golden key.
func TestTaggedFieldsGoldenKey(t *testing.T) {
	label := "selected"
	args := taggedArgs{Account: account{ID: "acct-123"}, Ignored: true, Label: &label}
	// The key hashes the encoded bytes it is given: here the fixture's, as another service
	// might have encoded them (without region, with an extra account member).
	encoded := []byte(`{"account":{"id":"acct-123","ignored":"not selected"},"ignored":true,"label":"selected"}`)
	key, err := UniqueKey(args, encoded, "default", UniqueOpts{ByArgs: true}, time.Time{}, vectorNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(key), "6130dc4f753402d1faeb6bbc3e6c21415245bb282ad1fd16bcbfeebde525e726"; got != want {
		t.Errorf("key %s, want %s", got, want)
	}
}

func TestUniqueStatesMask(t *testing.T) {
	if got := UniqueStatesMask(UniqueOpts{ByArgs: true}); got != 245 {
		t.Errorf("default mask %d, want 245", got)
	}
	custom := UniqueOpts{ByState: []JobState{JobStateAvailable, JobStateCompleted, JobStatePending, JobStateRunning, JobStateScheduled}}
	if got := UniqueStatesMask(custom); got != 213 {
		t.Errorf("custom mask %d, want 213", got)
	}
	if got := MaskToStates(245); len(got) != 6 || got[0] != JobStateAvailable || got[5] != JobStateScheduled {
		t.Errorf("states of 245: %v", got)
	}
}

func TestByArgsPathsEmptyIsUnset(t *testing.T) {
	args := RawArgs{JobKind: "k", JSON: json.RawMessage(`{"b":1,"a":2}`)}
	encoded := []byte(`{"b":1,"a":2}`)
	cases := []struct {
		opts UniqueOpts
		want string
	}{
		{UniqueOpts{ByArgs: true, ByArgsPaths: []string{}}, `&kind=k&args={"a":2,"b":1}`},
		{UniqueOpts{ByArgs: true, ByArgsPaths: []string{"b"}}, `&kind=k&args={"b":1}`},
		{UniqueOpts{ByQueue: true, ByArgsPaths: []string{}}, `&kind=k&queue=q`},
	}
	for _, c := range cases {
		got, err := uniqueKeyString(args, encoded, "q", c.opts, time.Time{}, vectorNow)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%+v: %q, want %q", c.opts, got, c.want)
		}
	}
	empty := UniqueOpts{ByArgsPaths: []string{}}
	if !empty.isEmpty() {
		t.Error("an empty path list alone does not make a job unique")
	}
	// A job that is not unique has no key (spec/04-unique.md#unique-key).
	for _, opts := range []UniqueOpts{{}, empty} {
		if key, err := UniqueKey(args, encoded, "q", opts, time.Time{}, vectorNow); key != nil || err != nil {
			t.Errorf("%+v: want no key, got %x, %v", opts, key, err)
		}
	}
}

func TestNULIsFoundOnlyAsAnEscape(t *testing.T) {
	for text, nul := range map[string]bool{
		`{"a":"\u0000"}`:   true,
		`{"\u0000":1}`:     true,
		`{"a":"\\u0000"}`:  false, // an escaped backslash, then the text u0000
		`{"a":"\\\u0000"}`: true,
		`{"a":"u0000"}`:    false,
		`{"a":"\u00000"}`:  true,
	} {
		if got := rejectNUL("args", []byte(text)) != nil; got != nul {
			t.Errorf("%s: NUL found %v, want %v", text, got, nul)
		}
	}
}

func TestPlaceByOrdinal(t *testing.T) {
	a, b := &InsertResult{}, &InsertResult{}
	got, err := placeByOrdinal([]ordered{{2, b}, {1, a}}, 2)
	if err != nil || got[0] != a || got[1] != b {
		t.Fatalf("rows placed by ordinal: %v %v", got, err)
	}
	for _, bad := range [][]ordered{{{1, a}}, {{1, a}, {1, b}}, {{0, a}, {1, b}}, {{1, a}, {3, b}}} {
		if _, err := placeByOrdinal(bad, 2); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}
