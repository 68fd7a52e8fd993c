// Command riverboat-conformance-adapter drives the riverboat Go client for the
// conformance suite (conformance/ADAPTER.md, profile insert-only-v1 plus contract_load):
// JSON-RPC 2.0 over stdio, one request per line, answered one line each.
//
//	conformance/run -- riverboat-conformance-adapter
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
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"riverboat.dev/go/riverboat"
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
)

type rpcError struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data,omitempty"`
}

func badParams(format string, args ...any) *rpcError {
	return &rpcError{Code: codeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

// classify maps the client's errors to the adapter's error table.
func classify(err error) *rpcError {
	var (
		validation *riverboat.ValidationError
		contract   *riverboat.ArgsContractError
		unknown    *riverboat.UnknownKindError
		pgErr      *pgconn.PgError
	)
	switch {
	case errors.As(err, &validation):
		// The client names unique options "unique_opts.*"; the protocol says "unique.*".
		field := strings.Replace(validation.Field, "unique_opts.", "unique.", 1)
		return &rpcError{Code: codeInvalidParams, Message: err.Error(), Data: map[string]any{"field": field, "rule": validation.Rule}}
	case errors.As(err, &contract):
		return &rpcError{Code: codeRejected, Message: err.Error(),
			Data: map[string]any{"reason": "contract_violation", "pointer": contract.Pointer, "rule": contract.Keyword}}
	case errors.As(err, &unknown):
		return &rpcError{Code: codeRejected, Message: err.Error(), Data: map[string]any{"reason": "unknown_kind"}}
	case errors.As(err, &pgErr):
		return &rpcError{Code: codeDatabase, Message: err.Error(), Data: map[string]any{"sqlstate": pgErr.Code}}
	default:
		return &rpcError{Code: codeInternal, Message: err.Error()}
	}
}

// decodeStrict decodes params, refusing unknown members.
func decodeStrict(raw json.RawMessage, into any) *rpcError {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(into); err != nil {
		return badParams("invalid params: %v", err)
	}
	return nil
}

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

type jobParams struct {
	Kind     string          `json:"kind"`
	Args     json.RawMessage `json:"args"`
	ArgsJSON *string         `json:"args_json"`
	Opts     *optsParams     `json:"opts"`
}

// rawArgs hands the client the args exactly as the request holds them (key order
// included), which is what the unique key must see.
func rawArgs(kind string, args json.RawMessage, argsJSON *string) (riverboat.RawArgs, *rpcError) {
	switch {
	case argsJSON != nil && args != nil:
		return riverboat.RawArgs{}, classify(&riverboat.ValidationError{Field: "args", Rule: "exclusive", Message: "give args or args_json, not both"})
	case argsJSON != nil:
		return riverboat.RawArgs{JobKind: kind, JSON: json.RawMessage(*argsJSON)}, nil
	case args != nil:
		return riverboat.RawArgs{JobKind: kind, JSON: args}, nil
	default:
		return riverboat.RawArgs{}, classify(&riverboat.ValidationError{Field: "args", Rule: "required", Message: "args are required"})
	}
}

func parseTime(field, text string) (time.Time, *rpcError) {
	at, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, classify(&riverboat.ValidationError{Field: field, Rule: "format", Message: fmt.Sprintf("%q is not an RFC 3339 timestamp", text)})
	}
	return at, nil
}

// uniqueOpts maps the protocol's unique options onto the client's.
func uniqueOpts(byArgs json.RawMessage, period time.Duration, byQueue bool, byState []string, excludeKind bool) (riverboat.UniqueOpts, *rpcError) {
	opts := riverboat.UniqueOpts{ByPeriod: period, ByQueue: byQueue, ExcludeKind: excludeKind}
	switch trimmed := string(bytes.TrimSpace(byArgs)); trimmed {
	case "", "null", "false":
	case "true":
		opts.ByArgs = true
	default:
		if err := json.Unmarshal(byArgs, &opts.ByArgsPaths); err != nil {
			return opts, badParams("unique.by_args must be a boolean or a list of paths")
		}
	}
	if byState != nil {
		opts.ByState = make([]riverboat.JobState, len(byState))
		for i, s := range byState {
			opts.ByState[i] = riverboat.JobState(s)
		}
	}
	return opts, nil
}

// insertManyParams maps one job of the protocol onto the client's API. The client takes
// River Go's convention that a zero priority, max_attempts or queue means "default", so
// an explicit zero or empty value is checked here with the client's own rules.
func insertManyParams(raw json.RawMessage) (riverboat.InsertManyParams, *rpcError) {
	var p jobParams
	if rerr := decodeStrict(raw, &p); rerr != nil {
		return riverboat.InsertManyParams{}, rerr
	}
	args, rerr := rawArgs(p.Kind, p.Args, p.ArgsJSON)
	if rerr != nil {
		return riverboat.InsertManyParams{}, rerr
	}
	opts := &riverboat.InsertOpts{}
	if o := p.Opts; o != nil {
		if o.Queue != nil {
			if err := riverboat.ValidateQueue(*o.Queue); err != nil {
				return riverboat.InsertManyParams{}, classify(err)
			}
			opts.Queue = *o.Queue
		}
		if o.Priority != nil {
			if err := riverboat.ValidatePriority(*o.Priority); err != nil {
				return riverboat.InsertManyParams{}, classify(err)
			}
			opts.Priority = *o.Priority
		}
		if o.MaxAttempts != nil {
			if err := riverboat.ValidateMaxAttempts(*o.MaxAttempts); err != nil {
				return riverboat.InsertManyParams{}, classify(err)
			}
			opts.MaxAttempts = *o.MaxAttempts
		}
		if o.ScheduledAt != nil {
			if opts.ScheduledAt, rerr = parseTime("scheduled_at", *o.ScheduledAt); rerr != nil {
				return riverboat.InsertManyParams{}, rerr
			}
		}
		opts.Pending = o.Pending
		opts.Tags = o.Tags
		opts.Metadata = o.Metadata
		if u := o.Unique; u != nil {
			var period time.Duration
			if u.ByPeriodMs != nil {
				if *u.ByPeriodMs > math.MaxInt64/int64(time.Millisecond) || *u.ByPeriodMs < math.MinInt64/int64(time.Millisecond) {
					return riverboat.InsertManyParams{}, classify(&riverboat.ValidationError{Field: "unique_opts.by_period", Rule: "range", Message: "by_period_ms is out of range"})
				}
				period = time.Duration(*u.ByPeriodMs) * time.Millisecond
			}
			if opts.UniqueOpts, rerr = uniqueOpts(u.ByArgs, period, u.ByQueue, u.ByState, u.ExcludeKind); rerr != nil {
				return riverboat.InsertManyParams{}, rerr
			}
		}
	}
	return riverboat.InsertManyParams{Args: args, InsertOpts: opts}, nil
}

func timeText(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999999999Z") }

func optionalTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeText(*t)
}

// normalize writes a job as ADAPTER.md#normalized-job.
func normalize(job *riverboat.Job) map[string]any {
	errorsOut := make([]map[string]any, 0, len(job.Errors))
	for _, e := range job.Errors {
		errorsOut = append(errorsOut, map[string]any{"at": timeText(e.At), "attempt": e.Attempt, "error": e.Error, "trace": e.Trace})
	}
	var uniqueKey, uniqueStates any
	if job.UniqueKey != nil {
		uniqueKey = hex.EncodeToString(job.UniqueKey)
	}
	if job.UniqueStates != nil {
		uniqueStates = job.UniqueStates
	}
	return map[string]any{
		"id":            job.ID,
		"args":          job.EncodedArgs,
		"attempt":       job.Attempt,
		"attempted_at":  optionalTime(job.AttemptedAt),
		"attempted_by":  job.AttemptedBy,
		"created_at":    timeText(job.CreatedAt),
		"errors":        errorsOut,
		"finalized_at":  optionalTime(job.FinalizedAt),
		"kind":          job.Kind,
		"max_attempts":  job.MaxAttempts,
		"metadata":      job.Metadata,
		"priority":      job.Priority,
		"queue":         job.Queue,
		"scheduled_at":  timeText(job.ScheduledAt),
		"state":         job.State,
		"tags":          job.Tags,
		"unique_key":    uniqueKey,
		"unique_states": uniqueStates,
	}
}

func insertResult(r *riverboat.InsertResult) map[string]any {
	return map[string]any{"job": normalize(r.Job), "unique_skipped_as_duplicate": r.UniqueSkippedAsDuplicate}
}

type server struct {
	ctx      context.Context
	pool     *pgxpool.Pool
	config   riverboat.Config
	client   *riverboat.Client
	schemas  map[string]json.RawMessage // contract_load's kinds, by kind
	strict   *riverboat.Client          // the client with the contract, once one is loaded
	contract *riverboat.Contract
	txs      map[string]pgx.Tx
}

// clientFor picks the client for a batch: one with a contract rejects kinds outside it, so
// the contract client takes the batches that name a contracted kind.
func (s *server) clientFor(params []riverboat.InsertManyParams) *riverboat.Client {
	if s.contract == nil {
		return s.client
	}
	for _, p := range params {
		if _, ok := s.schemas[p.Args.Kind()]; ok {
			return s.strict
		}
	}
	return s.client
}

func (s *server) insert(tx pgx.Tx, raws []json.RawMessage) ([]any, *rpcError) {
	params := make([]riverboat.InsertManyParams, 0, len(raws))
	for _, raw := range raws {
		p, rerr := insertManyParams(raw)
		if rerr != nil {
			return nil, rerr
		}
		params = append(params, p)
	}
	client := s.clientFor(params)
	var results []*riverboat.InsertResult
	var err error
	switch {
	case tx == nil && len(params) == 1:
		var one *riverboat.InsertResult
		one, err = client.Insert(s.ctx, params[0].Args, params[0].InsertOpts)
		results = []*riverboat.InsertResult{one}
	case tx == nil:
		results, err = client.InsertMany(s.ctx, params)
	case len(params) == 1:
		var one *riverboat.InsertResult
		one, err = client.InsertTx(s.ctx, tx, params[0].Args, params[0].InsertOpts)
		results = []*riverboat.InsertResult{one}
	default:
		results, err = client.InsertManyTx(s.ctx, tx, params)
	}
	if err != nil {
		return nil, classify(err)
	}
	out := make([]any, len(results))
	for i, r := range results {
		out[i] = insertResult(r)
	}
	return out, nil
}

func (s *server) uniqueKey(raw json.RawMessage) (any, *rpcError) {
	// name and expected_* are the runner's bookkeeping.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, badParams("invalid params: %v", err)
	}
	for name := range members {
		if name == "name" || strings.HasPrefix(name, "expected_") {
			delete(members, name)
		}
	}
	cleaned, _ := json.Marshal(members)
	var p struct {
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
	if rerr := decodeStrict(cleaned, &p); rerr != nil {
		return nil, rerr
	}
	// Members are re-encoded above, so take the args text from the original request.
	if p.Args != nil {
		p.Args = members["args"]
	}
	args, rerr := rawArgs(p.Kind, p.Args, p.ArgsJSON)
	if rerr != nil {
		return nil, rerr
	}
	now, rerr := parseTime("now", p.Now)
	if rerr != nil {
		return nil, rerr
	}
	var scheduledAt time.Time
	if p.ScheduledAt != nil {
		if scheduledAt, rerr = parseTime("scheduled_at", *p.ScheduledAt); rerr != nil {
			return nil, rerr
		}
	}
	o := p.Options
	opts, rerr := uniqueOpts(o.ByArgs, time.Duration(o.ByPeriodNanos), o.ByQueue, o.ByState, o.ExcludeKind)
	if rerr != nil {
		return nil, rerr
	}
	if p.SelectedPaths != nil {
		opts.ByArgsPaths = p.SelectedPaths
	}
	if err := opts.Validate(); err != nil {
		return nil, classify(err)
	}
	queue := p.Queue
	if queue == "" {
		queue = riverboat.QueueDefault
	}
	encoded, err := riverboat.EncodeArgs(args)
	if err != nil {
		return nil, classify(err)
	}
	key, err := riverboat.UniqueKey(args, encoded, queue, opts, scheduledAt, now)
	if err != nil {
		return nil, classify(err)
	}
	return map[string]any{"sha256": hex.EncodeToString(key), "state_mask": riverboat.UniqueStatesMask(opts)}, nil
}

func (s *server) contractLoad(raw json.RawMessage) (any, *rpcError) {
	var p struct {
		Kind     string          `json:"kind"`
		Contract json.RawMessage `json:"contract"`
	}
	if rerr := decodeStrict(raw, &p); rerr != nil {
		return nil, rerr
	}
	schemas := make(map[string]json.RawMessage, len(s.schemas)+1)
	kinds := make(map[string]riverboat.KindContract, len(s.schemas)+1)
	for kind, schema := range s.schemas {
		schemas[kind] = schema
	}
	schemas[p.Kind] = p.Contract
	for kind, schema := range schemas {
		kinds[kind] = riverboat.KindContract{ArgsSchema: schema}
	}
	contract, err := riverboat.NewContract(kinds)
	if err != nil {
		return nil, classify(err)
	}
	config := s.config
	config.Contract = contract
	strict, err := riverboat.NewClient(s.pool, &config)
	if err != nil {
		return nil, classify(err)
	}
	s.schemas, s.contract, s.strict = schemas, contract, strict
	return map[string]any{}, nil
}

var methods = []string{
	"handshake", "insert", "insert_many", "tx_begin", "tx_commit", "tx_insert", "tx_insert_many",
	"tx_rollback", "unique_key", "contract_load",
}

func (s *server) handle(method string, raw json.RawMessage) (any, *rpcError) {
	switch method {
	case "handshake":
		return map[string]any{
			"adapter_version":        1,
			"backend":                "postgres",
			"capabilities":           []string{"insert", "lifecycle", "transactions", "unique_jobs", "validation", "reserved_metadata", "args_contract"},
			"implementation":         "riverboat-go",
			"implementation_version": "0.1.0",
			"methods":                methods,
			"migration_lines":        map[string]int{"main": 8},
			"profile":                "insert-only-v1",
			"protocol_revision":      1,
		}, nil
	case "insert":
		results, rerr := s.insert(nil, []json.RawMessage{raw})
		if rerr != nil {
			return nil, rerr
		}
		return results[0], nil
	case "insert_many":
		var p struct {
			Jobs []json.RawMessage `json:"jobs"`
		}
		if rerr := decodeStrict(raw, &p); rerr != nil {
			return nil, rerr
		}
		results, rerr := s.insert(nil, p.Jobs)
		if rerr != nil {
			return nil, rerr
		}
		return map[string]any{"results": results}, nil
	case "unique_key":
		return s.uniqueKey(raw)
	case "contract_load":
		return s.contractLoad(raw)
	}
	if !slices.Contains(methods, method) {
		return nil, &rpcError{Code: codeNoMethod, Message: "method not found: " + method}
	}
	return s.handleTx(method, raw)
}

func (s *server) handleTx(method string, raw json.RawMessage) (any, *rpcError) {
	var p struct {
		Handle string            `json:"handle"`
		Job    json.RawMessage   `json:"job"`
		Jobs   []json.RawMessage `json:"jobs"`
	}
	if rerr := decodeStrict(raw, &p); rerr != nil {
		return nil, rerr
	}
	if p.Handle == "" {
		return nil, &rpcError{Code: codeInvalidParams, Message: "handle is required", Data: map[string]any{"field": "handle", "rule": "required"}}
	}
	tx, open := s.txs[p.Handle]
	if method == "tx_begin" {
		if open {
			return nil, &rpcError{Code: codeInvalidParams, Message: fmt.Sprintf("transaction %q is already open", p.Handle),
				Data: map[string]any{"field": "handle", "rule": "unique"}}
		}
		newTx, err := s.pool.Begin(s.ctx)
		if err != nil {
			return nil, classify(err)
		}
		s.txs[p.Handle] = newTx
		return map[string]any{}, nil
	}
	if !open {
		return nil, &rpcError{Code: codeNotFound, Message: fmt.Sprintf("unknown transaction handle %q", p.Handle)}
	}
	switch method {
	case "tx_insert":
		results, rerr := s.insert(tx, []json.RawMessage{p.Job})
		if rerr != nil {
			return nil, rerr
		}
		return results[0], nil
	case "tx_insert_many":
		results, rerr := s.insert(tx, p.Jobs)
		if rerr != nil {
			return nil, rerr
		}
		return map[string]any{"results": results}, nil
	case "tx_commit":
		delete(s.txs, p.Handle)
		if err := tx.Commit(s.ctx); err != nil {
			return nil, classify(err)
		}
	default:
		delete(s.txs, p.Handle)
		if err := tx.Rollback(s.ctx); err != nil {
			return nil, classify(err)
		}
	}
	return map[string]any{}, nil
}

func main() {
	log.SetOutput(os.Stderr)
	log.SetPrefix("riverboat-conformance-adapter: ")
	ctx := context.Background()
	url := os.Getenv("RIVER_CONFORMANCE_DATABASE_URL")
	if url == "" {
		log.Fatal("RIVER_CONFORMANCE_DATABASE_URL is not set")
	}
	poolConfig, err := pgxpool.ParseConfig(url)
	if err != nil {
		log.Fatal(err)
	}
	if name := os.Getenv("RIVER_CONFORMANCE_APPLICATION_NAME"); name != "" {
		poolConfig.ConnConfig.RuntimeParams["application_name"] = name
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	config := riverboat.Config{Schema: os.Getenv("RIVER_CONFORMANCE_SCHEMA")}
	client, err := riverboat.NewClient(pool, &config)
	if err != nil {
		log.Fatal(err)
	}
	s := &server{ctx: ctx, pool: pool, config: config, client: client, txs: map[string]pgx.Tx{}}
	serve(s, os.Stdin, os.Stdout)
}

// serve answers each request line until stdin closes. Lines are read whole: a request
// can exceed 1 MB.
func serve(s *server, in io.Reader, out io.Writer) {
	reader := bufio.NewReader(in)
	writer := bufio.NewWriter(out)
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
		if json.Valid(line) {
			response["error"] = &rpcError{Code: codeInvalidReq, Message: err.Error()}
		} else {
			response["error"] = &rpcError{Code: codeParse, Message: err.Error()}
		}
	} else {
		response["id"] = request.ID
		if request.ID == nil {
			response["id"] = nil
		}
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
		encoded, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": response["id"],
			"error": &rpcError{Code: codeInternal, Message: err.Error()}})
	}
	_, _ = writer.Write(append(encoded, '\n'))
	_ = writer.Flush()
}
