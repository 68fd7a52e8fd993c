package conformanceadapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"riverboat.dev/go/riverboat"
)

// echoClient answers each insert with a row built from the decoded params.
type echoClient struct{ batches [][]*Insert }

func (c *echoClient) Insert(_ context.Context, _ pgx.Tx, jobs []*Insert, _ bool) ([]InsertResult, *Error) {
	c.batches = append(c.batches, jobs)
	out := make([]InsertResult, len(jobs))
	for i, job := range jobs {
		out[i] = NewInsertResult(&riverboat.Job{ID: int64(i + 1), EncodedArgs: job.Args, Kind: job.Kind, State: riverboat.JobStateAvailable}, false)
	}
	return out, nil
}

func (c *echoClient) UniqueKey(context.Context, *UniqueKey) (UniqueKeyResult, *Error) {
	return NewUniqueKeyResult([]byte{0xab, 0x01}, StateMask([]string{"available", "scheduled"})), nil
}

func serveLines(t *testing.T, server *Server, lines ...string) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := server.Serve(context.Background(), strings.NewReader(strings.Join(lines, "\n")), &out); err != nil {
		t.Fatal(err)
	}
	var responses []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var response map[string]any
		if err := json.Unmarshal([]byte(line), &response); err != nil {
			t.Fatalf("response %q: %v", line, err)
		}
		responses = append(responses, response)
	}
	return responses
}

func errorCode(response map[string]any) float64 {
	if e, ok := response["error"].(map[string]any); ok {
		return e["code"].(float64)
	}
	return 0
}

func TestServeAnswersEachLine(t *testing.T) {
	own := func(context.Context, json.RawMessage) (any, *Error) { return map[string]any{"own": true}, nil }
	server := NewServer(nil, &echoClient{}, Config{Implementation: "test", Methods: map[string]Method{"contract_load": own}})
	responses := serveLines(t, server,
		`{"jsonrpc":"2.0","id":1,"method":"handshake","params":{}}`,
		`not json`,
		`[1]`,
		``,
		`{"jsonrpc":"1.0","id":2,"method":"insert"}`,
		`{"jsonrpc":"2.0","id":3,"method":"nope"}`,
		`{"jsonrpc":"2.0","id":4,"method":"contract_load","params":{}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tx_commit","params":{"handle":"t1"}}`,
		`{"jsonrpc":"2.0","id":6,"method":"tx_commit","params":{}}`,
	)
	wantCodes := []float64{0, CodeParseError, CodeInvalidRequest, CodeInvalidRequest, CodeMethodNotFound, 0, CodeNotFound, CodeInvalidParams}
	if len(responses) != len(wantCodes) {
		t.Fatalf("got %d responses, want %d", len(responses), len(wantCodes))
	}
	for i, want := range wantCodes {
		if got := errorCode(responses[i]); got != want {
			t.Errorf("response %d: code %v, want %v: %v", i, got, want, responses[i])
		}
	}
	methods := responses[0]["result"].(map[string]any)["methods"].([]any)
	if len(methods) != len(profileMethods)+1 || methods[len(methods)-1] != "contract_load" {
		t.Errorf("handshake methods %v", methods)
	}
	if responses[1]["id"] != nil || responses[3]["id"] != 2.0 {
		t.Errorf("ids %v %v", responses[1]["id"], responses[3]["id"])
	}
}

func TestInsertAndBatchResults(t *testing.T) {
	client := &echoClient{}
	responses := serveLines(t, NewServer(nil, client, Config{}),
		`{"jsonrpc":"2.0","id":1,"method":"insert","params":{"kind":"k","args_json":"{\"b\":1, \"a\":2}"}}`,
		`{"jsonrpc":"2.0","id":2,"method":"insert_many","params":{"jobs":[{"kind":"k","args":{}},{"kind":"k","args":{}}]}}`,
		`{"jsonrpc":"2.0","id":3,"method":"insert","params":{"kind":"k","args":{},"extra":1}}`,
		`{"jsonrpc":"2.0","id":4,"method":"unique_key","params":{"kind":"k","args":{},"now":"2026-01-02T03:04:05Z"}}`,
	)
	job := responses[0]["result"].(map[string]any)["job"].(map[string]any)
	if job["args"].(map[string]any)["a"] != 2.0 || job["unique_key"] != nil || len(job["tags"].([]any)) != 0 {
		t.Errorf("job %v", job)
	}
	if string(client.batches[0][0].Args) != `{"b":1, "a":2}` {
		t.Errorf("args_json reached the client as %s", client.batches[0][0].Args)
	}
	if results := responses[1]["result"].(map[string]any)["results"].([]any); len(results) != 2 {
		t.Errorf("results %v", results)
	}
	if errorCode(responses[2]) != CodeInvalidParams || len(client.batches) != 2 {
		t.Errorf("unknown member: %v", responses[2])
	}
	if key := responses[3]["result"].(map[string]any); key["sha256"] != "ab01" || key["state_mask"] != 129.0 {
		t.Errorf("unique_key %v", key)
	}
}

func TestDecodeInsert(t *testing.T) {
	job, rerr := DecodeInsert(json.RawMessage(`{"kind":"k","args":{"x":1},"opts":{"queue":"q","scheduled_at":"2030-01-01T01:00:00+01:00",
		"priority":null,"metadata":null,"unique_opts":{"by_args":["x"],"by_period_seconds":1.5,"by_state":["available"]}}}`))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if *job.Queue != "q" || !job.ScheduledAt.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) || job.Priority != nil || job.Metadata != nil {
		t.Errorf("job %+v", job)
	}
	if u := job.Unique; u.ByArgs || len(u.ByArgsPaths) != 1 || u.ByPeriod != 1500*time.Millisecond || u.ByState[0] != "available" {
		t.Errorf("unique %+v", u)
	}
	for raw, field := range map[string]string{
		`{"kind":"k"}`:                                                             "args",
		`{"kind":"k","args":null}`:                                                 "args",
		`{"kind":"k","args":{},"args_json":"{}"}`:                                  "args",
		`{"kind":"k","args":{},"opts":{"scheduled_at":"soon"}}`:                    "scheduled_at",
		`{"kind":"k","args":{},"opts":{"unique_opts":{"by_period_seconds":1e13}}}`: "unique_opts.by_period",
		`{"kind":"k","args":{},"opts":{"unique_opts":{"by_args":"x"}}}`:            "unique_opts.by_args",
	} {
		if _, rerr := DecodeInsert(json.RawMessage(raw)); rerr == nil || rerr.Data["field"] != field {
			t.Errorf("%s: %v, want field %s", raw, rerr, field)
		}
	}
}

func TestDecodeUniqueKeyKeepsArgsText(t *testing.T) {
	request, rerr := DecodeUniqueKey(json.RawMessage(`{"kind":"k","args":{"b": 1, "a": 2},"now":"2026-01-02T03:04:05.6789Z",
		"opts":{"scheduled_at":null,"unique_opts":{"by_args":["a"],"by_period_seconds":60}}}`))
	if rerr != nil {
		t.Fatal(rerr)
	}
	job := request.Job
	if string(job.Args) != `{"b": 1, "a": 2}` || !job.ScheduledAt.IsZero() || job.Unique.ByPeriod != time.Minute {
		t.Errorf("request %+v", job)
	}
	if job.Unique.ByArgs || len(job.Unique.ByArgsPaths) != 1 || request.Now.Nanosecond() != 678900000 {
		t.Errorf("unique %+v at %v", job.Unique, request.Now)
	}
	if _, rerr := DecodeUniqueKey(json.RawMessage(`{"kind":"k","args":{},"now":"2026-01-02T03:04:05Z","selected_unique_paths":[]}`)); rerr == nil {
		t.Error("an unknown member was accepted")
	}
}

func TestNormalizeJob(t *testing.T) {
	at := time.Date(2026, 1, 2, 4, 4, 5, 678900000, time.FixedZone("", 3600))
	job := NormalizeJob(&riverboat.Job{ID: 1 << 60, EncodedArgs: json.RawMessage(`{}`), CreatedAt: at, ScheduledAt: at, AttemptedAt: &at,
		Errors:    []riverboat.AttemptError{{At: at, Attempt: 1, Error: "e"}},
		UniqueKey: []byte{1, 2}, UniqueStates: []riverboat.JobState{riverboat.JobStateScheduled, riverboat.JobStateAvailable}})
	if job["created_at"] != "2026-01-02T03:04:05.6789Z" || job["attempted_at"] != "2026-01-02T03:04:05.6789Z" || job["finalized_at"] != nil {
		t.Errorf("times %v %v %v", job["created_at"], job["attempted_at"], job["finalized_at"])
	}
	if job["unique_key"] != "0102" || strings.Join(job["unique_states"].([]string), ",") != "available,scheduled" {
		t.Errorf("unique %v %v", job["unique_key"], job["unique_states"])
	}
	if string(job["metadata"].(json.RawMessage)) != "{}" || job["id"] != int64(1<<60) || job["errors"].([]map[string]any)[0]["attempt"] != int64(1) {
		t.Errorf("job %v", job)
	}
}

func TestStateMaskAndClassify(t *testing.T) {
	if mask := StateMask([]string{"available", "completed", "pending", "running", "scheduled"}); mask != 213 {
		t.Errorf("mask %d", mask)
	}
	if rerr := Classify(&pgconn.PgError{Code: "22P05"}, CodeInternal); rerr.Code != CodeDatabase || rerr.Data["sqlstate"] != "22P05" {
		t.Errorf("database error %+v", rerr)
	}
	if rerr := Classify(errors.New("boom"), CodeRejected); rerr.Code != CodeRejected {
		t.Errorf("other error %+v", rerr)
	}
}
