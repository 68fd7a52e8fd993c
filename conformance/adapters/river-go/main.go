// Command rivergo is the conformance adapter (conformance/ADAPTER.md) for River Go
// v0.51.2 over riverpgxv5: the reference implementation the suite is checked against.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

const (
	codeParse         = -32700
	codeInvalidReq    = -32600
	codeNoMethod      = -32601
	codeInvalidParams = -32602
	codeInternal      = -32000
	codeNotFound      = -32001
	codeRejected      = -32002
	codeDatabase      = -32003
	codeUnsupported   = -32004
)

type rpcError struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return e.Message }

func invalid(field, rule, format string, args ...any) *rpcError {
	return &rpcError{Code: codeInvalidParams, Message: fmt.Sprintf(format, args...), Data: map[string]any{"field": field, "rule": rule}}
}

// rawArgs carries the case's encoded args bytes straight to River, which marshals
// them (compacting and HTML-escaping, as it does for any Go args struct).
type rawArgs struct {
	kind string
	raw  json.RawMessage
}

func (a rawArgs) Kind() string                 { return a.kind }
func (a rawArgs) MarshalJSON() ([]byte, error) { return a.raw, nil }

type uniqueParams struct {
	ByArgs      json.RawMessage `json:"by_args"`
	ByPeriodMs  *int64          `json:"by_period_ms"`
	ByQueue     bool            `json:"by_queue"`
	ByState     []string        `json:"by_state"`
	ExcludeKind bool            `json:"exclude_kind"`
}

type optsParams struct {
	Queue       *string         `json:"queue"`
	Priority    *int            `json:"priority"`
	MaxAttempts *int            `json:"max_attempts"`
	ScheduledAt *string         `json:"scheduled_at"`
	Pending     bool            `json:"pending"`
	Tags        []string        `json:"tags"`
	Metadata    json.RawMessage `json:"metadata"`
	Unique      *uniqueParams   `json:"unique"`
}

type insertParams struct {
	Kind     string          `json:"kind"`
	Args     json.RawMessage `json:"args"`
	ArgsJSON *string         `json:"args_json"`
	Opts     *optsParams     `json:"opts"`
}

func decodeStrict(raw json.RawMessage, into any) *rpcError {
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	decoder.UseNumber()
	if err := decoder.Decode(into); err != nil {
		return &rpcError{Code: codeInvalidParams, Message: err.Error()}
	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && trimmed[0] == '{'
}

func parseTime(field, text string) (time.Time, *rpcError) {
	parsed, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, invalid(field, "format", "%s is not an RFC 3339 timestamp: %q", field, text)
	}
	return parsed, nil
}

func buildInsert(p *insertParams) (river.InsertManyParams, *rpcError) {
	var out river.InsertManyParams
	if p.Kind == "" {
		return out, invalid("kind", "required", "kind is required")
	}
	raw := p.Args
	if p.ArgsJSON != nil {
		if len(p.Args) > 0 {
			return out, invalid("args", "exclusive", "give args or args_json, not both")
		}
		raw = json.RawMessage(*p.ArgsJSON)
	}
	if !isObject(raw) || !json.Valid(raw) {
		return out, invalid("args", "type", "args must be a JSON object")
	}
	opts := &river.InsertOpts{}
	if o := p.Opts; o != nil {
		if o.Queue != nil {
			if *o.Queue == "" {
				return out, invalid("queue", "length", "queue must not be empty")
			}
			opts.Queue = *o.Queue
		}
		if o.Priority != nil {
			if *o.Priority == 0 {
				return out, invalid("priority", "range", "priority must be between 1 and 4")
			}
			opts.Priority = *o.Priority
		}
		if o.MaxAttempts != nil {
			if *o.MaxAttempts < 1 {
				return out, invalid("max_attempts", "range", "max_attempts must be at least 1")
			}
			opts.MaxAttempts = *o.MaxAttempts
		}
		if o.ScheduledAt != nil {
			at, rerr := parseTime("scheduled_at", *o.ScheduledAt)
			if rerr != nil {
				return out, rerr
			}
			opts.ScheduledAt = at
		}
		opts.Pending = o.Pending
		if o.Tags != nil {
			opts.Tags = o.Tags
		}
		if len(o.Metadata) > 0 {
			if !isObject(o.Metadata) {
				return out, invalid("metadata", "type", "metadata must be a JSON object")
			}
			opts.Metadata = o.Metadata
		}
		if u := o.Unique; u != nil {
			uniq, rerr := buildUnique(u.ByArgs, u.ByPeriodMs, u.ByQueue, u.ByState, u.ExcludeKind, time.Millisecond)
			if rerr != nil {
				return out, rerr
			}
			opts.UniqueOpts = uniq
		}
	}
	return river.InsertManyParams{Args: rawArgs{kind: p.Kind, raw: raw}, InsertOpts: opts}, nil
}

func buildUnique(byArgs json.RawMessage, period *int64, byQueue bool, byState []string, excludeKind bool, unit time.Duration) (river.UniqueOpts, *rpcError) {
	uniq := river.UniqueOpts{ByQueue: byQueue, ExcludeKind: excludeKind}
	trimmed := bytes.TrimSpace(byArgs)
	switch {
	case len(trimmed) == 0 || string(trimmed) == "false" || string(trimmed) == "null":
	case string(trimmed) == "true":
		uniq.ByArgs = true
	default:
		// Selected fields come from Go struct tags, which a raw-args adapter cannot have.
		return uniq, &rpcError{Code: codeUnsupported, Message: "by_args with a list of fields needs typed Go args"}
	}
	if period != nil {
		uniq.ByPeriod = time.Duration(*period) * unit
	}
	for _, state := range byState {
		uniq.ByState = append(uniq.ByState, rivertype.JobState(state))
	}
	return uniq, nil
}

func timeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999999999Z") }

func optionalTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeText(*t)
}

func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

func normalize(job *rivertype.JobRow) map[string]any {
	errorsOut := make([]map[string]any, 0, len(job.Errors))
	for _, e := range job.Errors {
		errorsOut = append(errorsOut, map[string]any{"at": timeText(e.At), "attempt": e.Attempt, "error": e.Error, "trace": e.Trace})
	}
	var uniqueKey, uniqueStates any
	if len(job.UniqueKey) > 0 {
		uniqueKey = hex.EncodeToString(job.UniqueKey)
	}
	if job.UniqueStates != nil {
		states := make([]string, 0, len(job.UniqueStates))
		for _, s := range job.UniqueStates {
			states = append(states, string(s))
		}
		sort.Strings(states)
		uniqueStates = states
	}
	metadata := json.RawMessage(job.Metadata)
	if len(metadata) == 0 {
		metadata = json.RawMessage("{}")
	}
	return map[string]any{
		"id":            job.ID,
		"args":          json.RawMessage(job.EncodedArgs),
		"attempt":       job.Attempt,
		"attempted_at":  optionalTime(job.AttemptedAt),
		"attempted_by":  orEmpty(job.AttemptedBy),
		"created_at":    timeText(job.CreatedAt),
		"errors":        errorsOut,
		"finalized_at":  optionalTime(job.FinalizedAt),
		"kind":          job.Kind,
		"max_attempts":  job.MaxAttempts,
		"metadata":      metadata,
		"priority":      job.Priority,
		"queue":         job.Queue,
		"scheduled_at":  timeText(job.ScheduledAt),
		"state":         string(job.State),
		"tags":          orEmpty(job.Tags),
		"unique_key":    uniqueKey,
		"unique_states": uniqueStates,
	}
}

func insertResult(res *rivertype.JobInsertResult) map[string]any {
	return map[string]any{"job": normalize(res.Job), "unique_skipped_as_duplicate": res.UniqueSkippedAsDuplicate}
}

// classify turns River's errors into the adapter's error table.
func classify(err error) *rpcError {
	var rerr *rpcError
	if errors.As(err, &rerr) {
		return rerr
	}
	message := err.Error()
	fields := []struct{ prefix, field, rule string }{
		{"queue name", "queue", "pattern"},
		{"tags should be a maximum", "tags", "length"},
		{"tags should match", "tags", "pattern"},
		{"priority must", "priority", "range"},
		{"UniqueOpts.ByPeriod", "unique.by_period", "range"},
		{"UniqueOpts.ByState", "unique.by_state", "required_states"},
		{"UniqueOpts.ExcludeKind", "unique.exclude_kind", "requires_dimension"},
		{"error marshaling args", "args", "type"},
	}
	for _, f := range fields {
		if strings.Contains(message, f.prefix) {
			return invalid(f.field, f.rule, "%s", message)
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return &rpcError{Code: codeDatabase, Message: message, Data: map[string]any{"sqlstate": pgErr.Code}}
	}
	return &rpcError{Code: codeRejected, Message: message}
}

type server struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	schema string
	client *river.Client[pgx.Tx]
	txs    map[string]pgx.Tx
}

func (s *server) insertMany(tx pgx.Tx, raw []json.RawMessage) (any, *rpcError) {
	params := make([]river.InsertManyParams, 0, len(raw))
	for _, item := range raw {
		var p insertParams
		if rerr := decodeStrict(item, &p); rerr != nil {
			return nil, rerr
		}
		built, rerr := buildInsert(&p)
		if rerr != nil {
			return nil, rerr
		}
		params = append(params, built)
	}
	var results []*rivertype.JobInsertResult
	var err error
	if tx == nil {
		results, err = s.client.InsertMany(s.ctx, params)
	} else {
		results, err = s.client.InsertManyTx(s.ctx, tx, params)
	}
	if err != nil {
		return nil, classify(err)
	}
	out := make([]map[string]any, 0, len(results))
	for _, res := range results {
		out = append(out, insertResult(res))
	}
	return map[string]any{"results": out}, nil
}

func (s *server) insertOne(tx pgx.Tx, raw json.RawMessage) (any, *rpcError) {
	var p insertParams
	if rerr := decodeStrict(raw, &p); rerr != nil {
		return nil, rerr
	}
	built, rerr := buildInsert(&p)
	if rerr != nil {
		return nil, rerr
	}
	var res *rivertype.JobInsertResult
	var err error
	if tx == nil {
		res, err = s.client.Insert(s.ctx, built.Args, built.InsertOpts)
	} else {
		res, err = s.client.InsertTx(s.ctx, tx, built.Args, built.InsertOpts)
	}
	if err != nil {
		return nil, classify(err)
	}
	return insertResult(res), nil
}

type stubTime struct{ now time.Time }

func (t stubTime) Now() time.Time       { return t.now }
func (t stubTime) NowOrNil() *time.Time { return &t.now }

// uniqueKey lets River compute the key: a client whose clock is the fixture's `now`
// inserts the job in a transaction that is always rolled back.
func (s *server) uniqueKey(raw json.RawMessage) (any, *rpcError) {
	var p struct {
		Args          json.RawMessage `json:"args"`
		ArgsJSON      *string         `json:"args_json"`
		Kind          string          `json:"kind"`
		Now           string          `json:"now"`
		Queue         string          `json:"queue"`
		ScheduledAt   *string         `json:"scheduled_at"`
		SelectedPaths []string        `json:"selected_unique_paths"`
		Options       struct {
			ByArgs        json.RawMessage `json:"by_args"`
			ByPeriodNanos *int64          `json:"by_period_nanos"`
			ByQueue       bool            `json:"by_queue"`
			ByState       []string        `json:"by_state"`
			ExcludeKind   bool            `json:"exclude_kind"`
		} `json:"options"`
		Name               json.RawMessage `json:"name"`
		ExpectedSHA256     json.RawMessage `json:"expected_sha256"`
		ExpectedStateMask  json.RawMessage `json:"expected_state_mask"`
		ExpectedError      json.RawMessage `json:"expected_error"`
		SelectedComponents json.RawMessage `json:"selected_unique_components"`
	}
	if rerr := decodeStrict(raw, &p); rerr != nil {
		return nil, rerr
	}
	if p.SelectedPaths != nil {
		return nil, &rpcError{Code: codeUnsupported, Message: "selected unique fields need typed Go args"}
	}
	now, rerr := parseTime("now", p.Now)
	if rerr != nil {
		return nil, rerr
	}
	args := p.Args
	if p.ArgsJSON != nil {
		args = json.RawMessage(*p.ArgsJSON)
	}
	uniq, rerr := buildUnique(p.Options.ByArgs, p.Options.ByPeriodNanos, p.Options.ByQueue, p.Options.ByState, p.Options.ExcludeKind, time.Nanosecond)
	if rerr != nil {
		return nil, rerr
	}
	opts := &river.InsertOpts{Queue: p.Queue, UniqueOpts: uniq}
	if p.ScheduledAt != nil {
		at, rerr := parseTime("scheduled_at", *p.ScheduledAt)
		if rerr != nil {
			return nil, rerr
		}
		opts.ScheduledAt = at
	}
	client, err := river.NewClient(riverpgxv5.New(s.pool), &river.Config{Schema: s.schema, Test: river.TestConfig{Time: stubTime{now: now}}})
	if err != nil {
		return nil, &rpcError{Code: codeInternal, Message: err.Error()}
	}
	tx, err := s.pool.Begin(s.ctx)
	if err != nil {
		return nil, classify(err)
	}
	defer func() { _ = tx.Rollback(s.ctx) }()
	res, err := client.InsertTx(s.ctx, tx, rawArgs{kind: p.Kind, raw: args}, opts)
	if err != nil {
		return nil, classify(err)
	}
	mask := 0
	weights := map[rivertype.JobState]int{"available": 1, "cancelled": 2, "completed": 4, "discarded": 8, "pending": 16, "retryable": 32, "running": 64, "scheduled": 128}
	for _, state := range res.Job.UniqueStates {
		mask |= weights[state]
	}
	return map[string]any{"sha256": hex.EncodeToString(res.Job.UniqueKey), "state_mask": mask}, nil
}

func (s *server) handle(method string, raw json.RawMessage) (any, *rpcError) {
	var handleParams struct {
		Handle string            `json:"handle"`
		Job    json.RawMessage   `json:"job"`
		Jobs   []json.RawMessage `json:"jobs"`
	}
	switch method {
	case "handshake":
		return map[string]any{
			"adapter_version":        1,
			"backend":                "postgres",
			"capabilities":           []string{"insert", "lifecycle", "transactions", "unique_jobs", "validation"},
			"implementation":         "river-go",
			"implementation_version": "0.51.2",
			"methods":                []string{"handshake", "insert", "insert_many", "tx_begin", "tx_commit", "tx_insert", "tx_insert_many", "tx_rollback", "unique_key"},
			"migration_lines":        map[string]int{"main": 8},
			"profile":                "insert-only-v1",
			"protocol_revision":      1,
		}, nil
	case "insert":
		return s.insertOne(nil, raw)
	case "insert_many":
		var p struct {
			Jobs []json.RawMessage `json:"jobs"`
		}
		if rerr := decodeStrict(raw, &p); rerr != nil {
			return nil, rerr
		}
		return s.insertMany(nil, p.Jobs)
	case "unique_key":
		return s.uniqueKey(raw)
	case "tx_begin", "tx_insert", "tx_insert_many", "tx_commit", "tx_rollback":
		if rerr := decodeStrict(raw, &handleParams); rerr != nil {
			return nil, rerr
		}
		if handleParams.Handle == "" {
			return nil, invalid("handle", "required", "handle is required")
		}
	default:
		return nil, &rpcError{Code: codeNoMethod, Message: "method not found: " + method}
	}
	tx, open := s.txs[handleParams.Handle]
	if method == "tx_begin" {
		if open {
			return nil, invalid("handle", "unique", "transaction %q is already open", handleParams.Handle)
		}
		newTx, err := s.pool.Begin(s.ctx)
		if err != nil {
			return nil, classify(err)
		}
		s.txs[handleParams.Handle] = newTx
		return map[string]any{}, nil
	}
	if !open {
		return nil, &rpcError{Code: codeNotFound, Message: fmt.Sprintf("unknown transaction handle %q", handleParams.Handle)}
	}
	switch method {
	case "tx_insert":
		return s.insertOne(tx, handleParams.Job)
	case "tx_insert_many":
		return s.insertMany(tx, handleParams.Jobs)
	case "tx_commit":
		delete(s.txs, handleParams.Handle)
		if err := tx.Commit(s.ctx); err != nil {
			return nil, classify(err)
		}
	default:
		delete(s.txs, handleParams.Handle)
		if err := tx.Rollback(s.ctx); err != nil {
			return nil, classify(err)
		}
	}
	return map[string]any{}, nil
}

func main() {
	log.SetOutput(os.Stderr)
	ctx := context.Background()
	url := os.Getenv("RIVER_CONFORMANCE_DATABASE_URL")
	if url == "" {
		log.Fatal("RIVER_CONFORMANCE_DATABASE_URL is not set")
	}
	config, err := pgxpool.ParseConfig(url)
	if err != nil {
		log.Fatal(err)
	}
	if name := os.Getenv("RIVER_CONFORMANCE_APPLICATION_NAME"); name != "" {
		config.ConnConfig.RuntimeParams["application_name"] = name
	}
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		log.Fatal(err)
	}
	schema := os.Getenv("RIVER_CONFORMANCE_SCHEMA")
	// A 1 ms cooldown keeps River's per-queue insert-notification debounce out of the way of the cases.
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schema, FetchCooldown: river.FetchCooldownMin})
	if err != nil {
		log.Fatal(err)
	}
	s := &server{ctx: ctx, pool: pool, schema: schema, client: client, txs: map[string]pgx.Tx{}}
	reader := bufio.NewReader(os.Stdin)
	writer := bufio.NewWriter(os.Stdout)
	for {
		line, err := reader.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			respond(writer, s, line)
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			log.Fatal(err)
		}
	}
}

func respond(writer *bufio.Writer, s *server, line []byte) {
	var request struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	response := map[string]any{"jsonrpc": "2.0"}
	if err := json.Unmarshal(line, &request); err != nil {
		response["id"] = nil
		response["error"] = &rpcError{Code: codeParse, Message: err.Error()}
	} else {
		response["id"] = request.ID
		if request.JSONRPC != "2.0" || request.Method == "" {
			response["error"] = &rpcError{Code: codeInvalidReq, Message: "not a JSON-RPC 2.0 request"}
		} else if result, rerr := s.handle(request.Method, request.Params); rerr != nil {
			log.Printf("%s: %s", request.Method, rerr.Message)
			response["error"] = rerr
		} else {
			response["result"] = result
		}
	}
	encoded, err := json.Marshal(response)
	if err != nil {
		encoded, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": response["id"], "error": &rpcError{Code: codeInternal, Message: err.Error()}})
	}
	_, _ = writer.Write(append(encoded, '\n'))
	_ = writer.Flush()
}
