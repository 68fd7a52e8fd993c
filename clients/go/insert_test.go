package riverboat

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// untouchableDB fails the test if the client tries to use the database: every rejection
// must happen before anything is sent.
type untouchableDB struct{ t *testing.T }

func (d untouchableDB) Begin(context.Context) (pgx.Tx, error) {
	d.t.Fatal("the database was touched")
	return nil, errors.New("unreachable")
}

func newTestClient(t *testing.T, config *Config) *Client {
	t.Helper()
	c, err := NewClient(untouchableDB{t}, config)
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return vectorNow }
	return c
}

func assertValidation(t *testing.T, err error, field, rule string) {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want *ValidationError %s/%s, got %v", field, rule, err)
	}
	if verr.Field != field || verr.Rule != rule {
		t.Fatalf("want %s/%s, got %s/%s (%v)", field, rule, verr.Field, verr.Rule, err)
	}
	if !strings.Contains(err.Error(), field) {
		t.Errorf("message %q does not name the field", err.Error())
	}
}

type emailArgs struct {
	To string `json:"to"`
}

func (emailArgs) Kind() string { return "email_send" }

// withDefaults carries its kind's insert defaults, as River Go's JobArgsWithInsertOpts.
type withDefaults struct {
	N int `json:"n"`
}

func (withDefaults) Kind() string { return "with_defaults" }
func (withDefaults) InsertOpts() InsertOpts {
	return InsertOpts{Queue: "kind_queue", Priority: 3, Tags: []string{"kind_tag"}, Metadata: json.RawMessage(`{"from":"kind"}`)}
}

func TestRejectedBeforeTheDatabase(t *testing.T) {
	c := newTestClient(t, nil)
	ok := emailArgs{To: "a@example.com"}
	cases := []struct {
		name        string
		args        JobArgs
		opts        InsertOpts
		field, rule string
	}{
		{"array args", RawArgs{JobKind: "k", JSON: json.RawMessage(`[1, 2]`)}, InsertOpts{}, "args", "type"},
		{"string args", RawArgs{JobKind: "k", JSON: json.RawMessage(`"s"`)}, InsertOpts{}, "args", "type"},
		{"null args", RawArgs{JobKind: "k", JSON: json.RawMessage(`null`)}, InsertOpts{}, "args", "type"},
		{"not JSON", RawArgs{JobKind: "k", JSON: json.RawMessage(`{"a":`)}, InsertOpts{}, "args", "json"},
		{"empty raw", RawArgs{JobKind: "k"}, InsertOpts{}, "args", "json"},
		{"NaN", MapArgs{JobKind: "k", Args: map[string]any{"x": math.NaN()}}, InsertOpts{}, "args", "json"},
		{"no args", nil, InsertOpts{}, "args", "required"},
		{"empty kind", RawArgs{JSON: json.RawMessage(`{}`)}, InsertOpts{}, "kind", "length"},
		{"long kind", RawArgs{JobKind: strings.Repeat("k", 128), JSON: json.RawMessage(`{}`)}, InsertOpts{}, "kind", "length"},
		{"queue uppercase", ok, InsertOpts{Queue: "Mail"}, "queue", "pattern"},
		{"queue dot", ok, InsertOpts{Queue: "mail.out"}, "queue", "pattern"},
		{"queue double separator", ok, InsertOpts{Queue: "mail__out"}, "queue", "pattern"},
		{"queue leading separator", ok, InsertOpts{Queue: "_mail"}, "queue", "pattern"},
		{"queue non-ASCII", ok, InsertOpts{Queue: "café"}, "queue", "pattern"},
		{"queue too long", ok, InsertOpts{Queue: strings.Repeat("q", 65)}, "queue", "length"},
		{"priority 5", ok, InsertOpts{Priority: 5}, "priority", "range"},
		{"priority negative", ok, InsertOpts{Priority: -1}, "priority", "range"},
		{"max_attempts negative", ok, InsertOpts{MaxAttempts: -3}, "max_attempts", "range"},
		{"max_attempts over smallint", ok, InsertOpts{MaxAttempts: 32768}, "max_attempts", "range"},
		{"tag comma", ok, InsertOpts{Tags: []string{"a,b,c"}}, "tags", "pattern"},
		{"tag space", ok, InsertOpts{Tags: []string{"a tag"}}, "tags", "pattern"},
		{"tag too short", ok, InsertOpts{Tags: []string{"ab"}}, "tags", "pattern"},
		{"tag leading hyphen", ok, InsertOpts{Tags: []string{"-abc"}}, "tags", "pattern"},
		{"tag non-ASCII", ok, InsertOpts{Tags: []string{"tagé"}}, "tags", "pattern"},
		{"tag too long", ok, InsertOpts{Tags: []string{strings.Repeat("t", 256)}}, "tags", "length"},
		{"metadata array", ok, InsertOpts{Metadata: json.RawMessage(`[1,2]`)}, "metadata", "type"},
		{"metadata string", ok, InsertOpts{Metadata: json.RawMessage(`"x"`)}, "metadata", "type"},
		{"metadata not JSON", ok, InsertOpts{Metadata: json.RawMessage(`{`)}, "metadata", "json"},
		{"metadata reserved key", ok, InsertOpts{Metadata: json.RawMessage(`{"river:unique":1}`)}, "metadata", "reserved"},
		{"period too short", ok, InsertOpts{UniqueOpts: UniqueOpts{ByPeriod: 500 * time.Millisecond}}, "unique_opts.by_period", "range"},
		{"period negative", ok, InsertOpts{UniqueOpts: UniqueOpts{ByPeriod: -time.Hour}}, "unique_opts.by_period", "range"},
		{"states missing required", ok, InsertOpts{UniqueOpts: UniqueOpts{ByState: []JobState{JobStateAvailable, JobStatePending, JobStateRunning}}},
			"unique_opts.by_state", "required_states"},
		{"unknown state", ok, InsertOpts{UniqueOpts: UniqueOpts{ByState: []JobState{"available", "pending", "running", "scheduled", "paused"}}},
			"unique_opts.by_state", "unknown_state"},
		{"exclude_kind alone", ok, InsertOpts{UniqueOpts: UniqueOpts{ExcludeKind: true}}, "unique_opts.exclude_kind", "requires_dimension"},
		{"exclude_kind with states only", ok, InsertOpts{UniqueOpts: UniqueOpts{ExcludeKind: true, ByState: []JobState{"available", "pending", "running", "scheduled"}}},
			"unique_opts.exclude_kind", "requires_dimension"},
		{"array index path", ok, InsertOpts{UniqueOpts: UniqueOpts{ByArgsPaths: []string{"items.0"}}}, "unique_opts.by_args", "path"},
		{"queue near miss", ok, InsertOpts{Queue: strings.Repeat("a", 26) + "!"}, "queue", "pattern"},
		{"queue with newline", ok, InsertOpts{Queue: "default\n"}, "queue", "pattern"},
		{"period fraction", ok, InsertOpts{UniqueOpts: UniqueOpts{ByPeriod: 1500 * time.Millisecond}}, "unique_opts.by_period", "range"},
		{"states empty", ok, InsertOpts{UniqueOpts: UniqueOpts{ByState: []JobState{}}}, "unique_opts.by_state", "required_states"},
		{"args NUL", MapArgs{JobKind: "k", Args: map[string]any{"s": "a\x00b"}}, InsertOpts{}, "args", "json"},
		{"args NUL key", RawArgs{JobKind: "k", JSON: json.RawMessage(`{"a":{"b\u0000":1}}`)}, InsertOpts{}, "args", "json"},
		{"metadata NUL", ok, InsertOpts{Metadata: json.RawMessage(`{"bad\u0000key": 1}`)}, "metadata", "json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			_, err := c.Insert(context.Background(), tc.args, &opts)
			assertValidation(t, err, tc.field, tc.rule)
		})
	}
}

func TestRejectedBatchNamesTheJob(t *testing.T) {
	c := newTestClient(t, nil)
	_, err := c.InsertMany(context.Background(), []InsertManyParams{
		{Args: emailArgs{To: "a"}},
		{Args: emailArgs{To: "b"}, InsertOpts: &InsertOpts{Priority: 9}},
	})
	var jobErr *JobError
	if !errors.As(err, &jobErr) || jobErr.Index != 1 {
		t.Fatalf("want a *JobError for job 1, got %v", err)
	}
	assertValidation(t, err, "priority", "range")
	_, err = c.InsertMany(context.Background(), nil)
	assertValidation(t, err, "params", "length")
}

func TestExportedValidators(t *testing.T) {
	assertValidation(t, ValidateQueue(""), "queue", "length")
	assertValidation(t, ValidatePriority(0), "priority", "range")
	assertValidation(t, ValidateMaxAttempts(0), "max_attempts", "range")
	assertValidation(t, ValidateKind(""), "kind", "length")
	for _, ok := range []string{"default", "a-b_c|d", "q1", strings.Repeat("q", 64)} {
		if err := ValidateQueue(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, ok := range []string{"abc", "_aaa", "my-tag", "ALL_CAPS", "1_2_3", strings.Repeat("t", 255)} {
		if err := ValidateTags([]string{ok}); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

func TestNewClientValidates(t *testing.T) {
	for _, tc := range []struct {
		config      Config
		field, rule string
	}{
		{Config{Schema: "bad-schema"}, "schema", "pattern"},
		{Config{Schema: `x"; DROP TABLE river_job; --`}, "schema", "pattern"},
		{Config{Schema: strings.Repeat("s", 47)}, "schema", "length"},
		{Config{Queue: "Bad"}, "queue", "pattern"},
		{Config{MaxAttempts: 40000}, "max_attempts", "range"},
		{Config{Priority: 7}, "priority", "range"},
		{Config{MaxAttempts: -1}, "max_attempts", "range"},
	} {
		_, err := NewClient(nil, &tc.config)
		assertValidation(t, err, tc.field, tc.rule)
	}
}

func TestSchemaIsQuoted(t *testing.T) {
	c, err := NewClient(nil, &Config{Schema: "My_Schema"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`INSERT INTO "My_Schema".river_job`, `::"My_Schema".river_job_state`, `"My_Schema".river_job_state_in_bitmask`} {
		if !strings.Contains(c.insertSQL, want) {
			t.Errorf("insert statement lacks %s", want)
		}
	}
	plain, _ := NewClient(nil, nil)
	if strings.Contains(plain.insertSQL, "TEMPLATE") || !strings.Contains(plain.insertSQL, "INSERT INTO river_job") {
		t.Error("without a schema the statement names river_job through the search path")
	}
	// The upsert keeps the live row's kind (it differs under exclude_kind).
	if !strings.Contains(plain.insertSQL, "DO UPDATE SET kind = river_job.kind") {
		t.Error("the upsert must keep the existing row's kind")
	}
}

func TestInsertTxWithoutDB(t *testing.T) {
	c, err := NewClient(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Insert(context.Background(), emailArgs{}, nil); !errors.Is(err, errNoDB) {
		t.Fatalf("want errNoDB, got %v", err)
	}
}

func TestResolveDefaults(t *testing.T) {
	c := newTestClient(t, nil)
	r, err := c.resolve(emailArgs{To: "a@example.com"}, nil, vectorNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.queue != "default" || r.priority != 1 || r.maxAttempts != 25 || r.state != JobStateAvailable ||
		!r.scheduledAt.Equal(vectorNow) || r.metadata != "{}" || len(r.tags) != 0 || r.tags == nil || r.uniqueKey != nil {
		t.Errorf("defaults: %+v", r)
	}
	if string(r.args) != `{"to":"a@example.com"}` {
		t.Errorf("args %s", r.args)
	}
}

func TestResolvePrecedence(t *testing.T) {
	c := newTestClient(t, &Config{Queue: "client_queue", Priority: 2, MaxAttempts: 7})
	r, err := c.resolve(emailArgs{}, nil, vectorNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.queue != "client_queue" || r.priority != 2 || r.maxAttempts != 7 {
		t.Errorf("client defaults: %+v", r)
	}
	r, err = c.resolve(withDefaults{}, nil, vectorNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.queue != "kind_queue" || r.priority != 3 || r.maxAttempts != 7 || r.tags[0] != "kind_tag" || r.metadata != `{"from":"kind"}` {
		t.Errorf("kind defaults: %+v", r)
	}
	// Insert options win; an empty non-nil tag list replaces the kind's tags.
	r, err = c.resolve(withDefaults{}, &InsertOpts{Queue: "insert_queue", Priority: 4, Tags: []string{}}, vectorNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.queue != "insert_queue" || r.priority != 4 || len(r.tags) != 0 {
		t.Errorf("insert options: %+v", r)
	}
}

func TestResolveState(t *testing.T) {
	c := newTestClient(t, nil)
	past := vectorNow.Add(-time.Hour)
	future := vectorNow.Add(time.Hour)
	cases := []struct {
		opts InsertOpts
		want JobState
		at   time.Time
	}{
		{InsertOpts{}, JobStateAvailable, vectorNow},
		{InsertOpts{ScheduledAt: future}, JobStateScheduled, future},
		{InsertOpts{ScheduledAt: past}, JobStateScheduled, past}, // even in the past
		{InsertOpts{Pending: true}, JobStatePending, vectorNow},
		{InsertOpts{Pending: true, ScheduledAt: future}, JobStatePending, future},
	}
	for _, tc := range cases {
		opts := tc.opts
		r, err := c.resolve(emailArgs{}, &opts, vectorNow)
		if err != nil {
			t.Fatal(err)
		}
		if r.state != tc.want || !r.scheduledAt.Equal(tc.at) {
			t.Errorf("%+v: state %s at %s, want %s at %s", tc.opts, r.state, r.scheduledAt, tc.want, tc.at)
		}
	}
}

func TestResolveUnique(t *testing.T) {
	c := newTestClient(t, nil)
	opts := &InsertOpts{Queue: "priority_emails", ScheduledAt: mustTime("2026-01-02T05:21:05.6789Z"), UniqueOpts: UniqueOpts{
		ByArgs: true, ByPeriod: time.Minute, ByQueue: true,
		ByState: []JobState{JobStateAvailable, JobStateCompleted, JobStatePending, JobStateRunning, JobStateScheduled},
	}}
	r, err := c.resolve(RawArgs{JobKind: "conformance_simple", JSON: json.RawMessage(`{"id": 42}`)}, opts, vectorNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(r.uniqueKey); got != "6f20262e7b1fa9beaf98255f23030800376636484a98b20c2c04a303bab5a8d5" || r.uniqueStates != 213 {
		t.Errorf("key %s mask %d", got, r.uniqueStates)
	}
}

// Args bytes are Go's encoding/json output (spec/04-unique.md#args-encoding).
func TestArgsEncoding(t *testing.T) {
	cases := []struct {
		args JobArgs
		want string
	}{
		{RawArgs{JobKind: "k", JSON: json.RawMessage("{\"z\": 1,\n \"a\": [3, 2, 1], \"h\": \"<a>&b\"}")},
			`{"z":1,"a":[3,2,1],"h":"\u003ca\u003e\u0026b"}`},
		{RawArgs{JobKind: "k", JSON: json.RawMessage(`{"big":1180591620717411303424,"f":1.50}`)},
			`{"big":1180591620717411303424,"f":1.50}`},
		{RawArgs{JobKind: "k", JSON: json.RawMessage("{\"s\":\"\u2028é😀\"}")}, `{"s":"\u2028é😀"}`},
		{MapArgs{JobKind: "k", Args: map[string]any{"z": 1, "a": 1e21, "m": 1e-7, "n": math.Copysign(0, -1), "t": "tab\there\x01"}},
			`{"a":1e+21,"m":1e-7,"n":-0,"t":"tab\there\u0001","z":1}`},
		{MapArgs{JobKind: "k"}, `{}`},
		{emailArgs{To: "a@example.com"}, `{"to":"a@example.com"}`},
	}
	for _, tc := range cases {
		got, err := EncodeArgs(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%#v: %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestFoldDuplicates(t *testing.T) {
	rows := []*row{{uniqueKey: []byte("a")}, {}, {uniqueKey: []byte("a")}, {uniqueKey: []byte("b")}, {}}
	b := foldDuplicates(rows)
	if len(b.rows) != 4 {
		t.Fatalf("%d rows sent, want 4", len(b.rows))
	}
	wantSources := []int{0, 1, 0, 2, 3}
	wantRepeats := []bool{false, false, true, false, false}
	for i := range rows {
		if b.sources[i] != wantSources[i] || b.repeats[i] != wantRepeats[i] {
			t.Errorf("job %d: source %d repeat %v", i, b.sources[i], b.repeats[i])
		}
	}
}

func TestInsertNotifyPayloads(t *testing.T) {
	job := func(queue string, state JobState) *Job { return &Job{Queue: queue, State: state} }
	got := insertNotifyPayloads([]*InsertResult{
		{Job: job("mail", JobStateAvailable)},
		{Job: job("mail", JobStateAvailable)},
		{Job: job("later", JobStateScheduled)},
		{Job: job("held", JobStatePending)},
		{Job: job("dup", JobStateAvailable), UniqueSkippedAsDuplicate: true},
		{Job: job("default", JobStateAvailable)},
	})
	want := []string{`{"queue": "mail"}`, `{"queue": "default"}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("payloads %q, want %q", got, want)
	}
	if insertNotifyPayloads([]*InsertResult{{Job: job("q", JobStateScheduled)}}) != nil {
		t.Error("a batch without available jobs notifies no one")
	}
}
