// Package riverboat is a thin, insert-only client for River's PostgreSQL job table
// (github.com/riverqueue/river), on pgx v5. Jobs it inserts are indistinguishable from
// jobs inserted by River Go v0.51.2: the same columns, the same args bytes, the same
// unique keys and the same insert notification, so River Go workers (and riverboat's)
// work them. It follows riverboat's protocol, spec/03-insert.md and spec/04-unique.md.
package riverboat

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed sql/*.sql
var queries embed.FS

// query returns one statement of sql/ with its schema placeholder filled in.
func query(name, schemaPrefix string) string {
	text, err := queries.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic("riverboat: missing embedded query " + name) // a build defect, not a runtime condition
	}
	return strings.ReplaceAll(string(text), "/* TEMPLATE: schema */", schemaPrefix)
}

// DB is what a Client needs to insert in a transaction of its own. *pgxpool.Pool and
// *pgx.Conn satisfy it, and so does pgx.Tx (the insert then runs in a savepoint).
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Config configures a Client. Every field is optional.
type Config struct {
	// Schema holding River's tables; empty means the connection's search path.
	Schema string
	// Queue, Priority and MaxAttempts are the client's defaults, used when neither the
	// insert nor the kind sets them.
	Queue       string
	Priority    int
	MaxAttempts int
	// Contract, when set, checks the args of every job whose kind it lists against that
	// kind's JSON Schema before anything is sent; other kinds pass unchecked.
	Contract *Contract
	// StrictContract also rejects kinds the Contract does not list, with
	// *UnknownKindError (spec/05-args-contract.md#strict-mode).
	StrictContract bool
}

// Client inserts jobs. It holds no connection of its own: Insert and InsertMany begin a
// transaction on the DB it was given, InsertTx and InsertManyTx use the caller's. It is
// safe for concurrent use.
type Client struct {
	db        DB
	config    Config
	contract  *Contract
	insertSQL string
	notifySQL string
	now       func() time.Time
}

// NewClient returns a client that inserts through db. db may be nil for a client that
// only inserts in callers' transactions (InsertTx, InsertManyTx).
func NewClient(db DB, config *Config) (*Client, error) {
	c := &Client{db: db, now: time.Now}
	if config != nil {
		c.config = *config
	}
	prefix := ""
	if c.config.Schema != "" {
		if err := ValidateSchemaName(c.config.Schema); err != nil {
			return nil, err
		}
		prefix = quoteIdentifier(c.config.Schema) + "."
	}
	if c.config.Queue != "" {
		if err := ValidateQueue(c.config.Queue); err != nil {
			return nil, err
		}
	}
	if c.config.Priority != 0 {
		if err := ValidatePriority(c.config.Priority); err != nil {
			return nil, err
		}
	}
	if c.config.MaxAttempts != 0 {
		if err := ValidateMaxAttempts(c.config.MaxAttempts); err != nil {
			return nil, err
		}
	}
	c.contract = c.config.Contract
	c.insertSQL = query("job_insert_many", prefix)
	c.notifySQL = query("queue_notify_insert", prefix)
	return c, nil
}

var errNoDB = errors.New("riverboat: this client has no DB; use InsertTx or InsertManyTx")

// Insert inserts one job in a transaction of its own and commits it. opts may be nil.
func (c *Client) Insert(ctx context.Context, args JobArgs, opts *InsertOpts) (*InsertResult, error) {
	results, err := c.InsertMany(ctx, []InsertManyParams{{Args: args, InsertOpts: opts}})
	if err != nil {
		return nil, unwrapJobError(err)
	}
	return results[0], nil
}

// InsertTx inserts one job in the caller's transaction. The job and its insert
// notification become visible when the caller commits, and vanish if it rolls back.
func (c *Client) InsertTx(ctx context.Context, tx pgx.Tx, args JobArgs, opts *InsertOpts) (*InsertResult, error) {
	results, err := c.InsertManyTx(ctx, tx, []InsertManyParams{{Args: args, InsertOpts: opts}})
	if err != nil {
		return nil, unwrapJobError(err)
	}
	return results[0], nil
}

// InsertMany inserts a batch in one statement, in a transaction of its own: all jobs or
// none. Results are in input order. Every job is validated first; one invalid job
// rejects the batch before the database is touched.
func (c *Client) InsertMany(ctx context.Context, params []InsertManyParams) ([]*InsertResult, error) {
	if c.db == nil {
		return nil, errNoDB
	}
	now := c.now()
	resolved, err := c.resolveAll(params, now)
	if err != nil {
		return nil, err
	}
	tx, err := c.db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	results, err := c.write(ctx, tx, resolved, now)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return results, nil
}

// InsertManyTx inserts a batch in one statement in the caller's transaction; results are
// in input order. Nothing is committed: the caller commits or rolls back.
func (c *Client) InsertManyTx(ctx context.Context, tx pgx.Tx, params []InsertManyParams) ([]*InsertResult, error) {
	now := c.now()
	resolved, err := c.resolveAll(params, now)
	if err != nil {
		return nil, err
	}
	return c.write(ctx, tx, resolved, now)
}

func (c *Client) resolveAll(params []InsertManyParams, now time.Time) ([]*row, error) {
	if len(params) == 0 {
		return nil, invalid("params", "length", "a batch needs at least one job")
	}
	rows := make([]*row, len(params))
	for i, p := range params {
		r, err := c.resolve(p.Args, p.InsertOpts, now)
		if err != nil {
			return nil, &JobError{Index: i, Err: err}
		}
		rows[i] = r
	}
	return rows, nil
}

// write runs the insert statement and the insert notification on tx.
func (c *Client) write(ctx context.Context, tx pgx.Tx, resolved []*row, now time.Time) ([]*InsertResult, error) {
	b := foldDuplicates(resolved)
	n := len(b.rows)
	var (
		args         = make([]string, n)
		kinds        = make([]string, n)
		maxAttempts  = make([]int16, n)
		metadata     = make([]string, n)
		priorities   = make([]int16, n)
		queues       = make([]string, n)
		scheduledAt  = make([]time.Time, n)
		states       = make([]string, n)
		tags         = make([]string, n)
		uniqueKeys   = make([][]byte, n)
		uniqueStates = make([]*int32, n)
	)
	for i, r := range b.rows {
		args[i] = string(r.args)
		kinds[i] = r.kind
		maxAttempts[i] = int16(r.maxAttempts) //nolint:gosec // validated to 1..32767
		metadata[i] = r.metadata
		priorities[i] = int16(r.priority) //nolint:gosec // validated to 1..4
		queues[i] = r.queue
		scheduledAt[i] = r.scheduledAt
		states[i] = string(r.state)
		tags[i] = strings.Join(r.tags, ",")
		if r.uniqueKey != nil {
			uniqueKeys[i] = r.uniqueKey
			mask := int32(r.uniqueStates) //nolint:gosec // an 8-bit mask
			uniqueStates[i] = &mask
		}
	}
	dbRows, err := tx.Query(ctx, c.insertSQL, now, args, kinds, maxAttempts, metadata, priorities, queues,
		scheduledAt, states, tags, uniqueKeys, uniqueStates)
	if err != nil {
		return nil, err
	}
	returned, err := pgx.CollectRows(dbRows, scanResult)
	if err != nil {
		return nil, err
	}
	stored, err := placeByOrdinal(returned, n)
	if err != nil {
		return nil, err
	}
	if err := c.notify(ctx, tx, stored); err != nil {
		return nil, err
	}
	results := make([]*InsertResult, len(resolved))
	for i, source := range b.sources {
		results[i] = &InsertResult{
			Job:                      stored[source].Job,
			UniqueSkippedAsDuplicate: b.repeats[i] || stored[source].UniqueSkippedAsDuplicate,
		}
	}
	return results, nil
}

// notify sends the insert notifications of a batch on tx.
func (c *Client) notify(ctx context.Context, tx pgx.Tx, stored []*InsertResult) error {
	payloads := insertNotifyPayloads(stored)
	if payloads == nil {
		return nil
	}
	var schema *string
	if c.config.Schema != "" {
		schema = &c.config.Schema
	}
	_, err := tx.Exec(ctx, c.notifySQL, schema, payloads)
	return err
}

// insertNotifyPayloads are the payloads to send: one per queue that received new
// available jobs, in first-seen order; duplicates, scheduled and pending jobs wake no one.
// The text is River Go's, `{"queue": "name"}`.
func insertNotifyPayloads(stored []*InsertResult) []string {
	var payloads []string
	seen := map[string]bool{}
	for _, r := range stored {
		if r.UniqueSkippedAsDuplicate || r.Job.State != JobStateAvailable || seen[r.Job.Queue] {
			continue
		}
		seen[r.Job.Queue] = true
		queue, _ := json.Marshal(r.Job.Queue) //nolint:errchkjson // a string always encodes
		payloads = append(payloads, `{"queue": `+string(queue)+`}`)
	}
	return payloads
}

// ordered is one returned row with the 1-based position of the job it answers.
type ordered struct {
	ord    int64
	result *InsertResult
}

// placeByOrdinal puts each returned row at its job's position: PostgreSQL does not promise
// RETURNING order, so the statement returns each job's ordinal
// (spec/03-insert.md#the-insert-statement).
func placeByOrdinal(returned []ordered, n int) ([]*InsertResult, error) {
	stored := make([]*InsertResult, n)
	for _, r := range returned {
		if r.ord < 1 || r.ord > int64(n) || stored[r.ord-1] != nil {
			return nil, fmt.Errorf("riverboat: insert returned ordinal %d for a batch of %d jobs", r.ord, n)
		}
		stored[r.ord-1] = r.result
	}
	if len(returned) != n {
		return nil, fmt.Errorf("riverboat: insert returned %d rows for %d jobs", len(returned), n)
	}
	return stored, nil
}

// scanResult reads one row of job_insert_many.sql.
func scanResult(r pgx.CollectableRow) (ordered, error) {
	var (
		ord          int64
		j            Job
		args         []byte
		errorsJSON   []byte
		metadata     []byte
		state        string
		uniqueStates *int32
		skipped      bool
	)
	err := r.Scan(&ord, &j.ID, &args, &j.Attempt, &j.AttemptedAt, &j.AttemptedBy, &j.CreatedAt, &errorsJSON,
		&j.FinalizedAt, &j.Kind, &j.MaxAttempts, &metadata, &j.Priority, &j.Queue, &j.ScheduledAt, &state,
		&j.Tags, &j.UniqueKey, &uniqueStates, &skipped)
	if err != nil {
		return ordered{}, err
	}
	j.EncodedArgs = args
	j.Metadata = metadata
	j.State = JobState(state)
	if err := json.Unmarshal(errorsJSON, &j.Errors); err != nil {
		return ordered{}, fmt.Errorf("riverboat: reading errors of job %d: %w", j.ID, err)
	}
	if uniqueStates != nil {
		j.UniqueStates = MaskToStates(byte(*uniqueStates)) //nolint:gosec // an 8-bit mask
	}
	j.CreatedAt = j.CreatedAt.UTC()
	j.ScheduledAt = j.ScheduledAt.UTC()
	if j.AttemptedAt != nil {
		at := j.AttemptedAt.UTC()
		j.AttemptedAt = &at
	}
	if j.FinalizedAt != nil {
		at := j.FinalizedAt.UTC()
		j.FinalizedAt = &at
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if j.AttemptedBy == nil {
		j.AttemptedBy = []string{}
	}
	return ordered{ord: ord, result: &InsertResult{Job: &j, UniqueSkippedAsDuplicate: skipped}}, nil
}
