// Command rivergo is the conformance adapter (conformance/ADAPTER.md) for River Go
// v0.51.2 over riverpgxv5: the reference implementation the suite is checked against.
// The protocol is riverboat.dev/go/riverboat/conformanceadapter's (clients/go, by a
// replace directive); this command maps its requests onto River's client.
package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"riverboat.dev/go/riverboat/conformanceadapter"
)

func main() {
	conformanceadapter.Main("rivergo", setup)
}

func setup(_ context.Context, pool *pgxpool.Pool, schema string) (conformanceadapter.Client, conformanceadapter.Config, error) {
	// A 1 ms cooldown keeps River's per-queue insert-notification debounce out of the way of the cases.
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schema, FetchCooldown: river.FetchCooldownMin})
	if err != nil {
		return nil, conformanceadapter.Config{}, err
	}
	return &adapter{pool: pool, schema: schema, client: client}, conformanceadapter.Config{
		Implementation:        "river-go",
		ImplementationVersion: "0.51.2",
		// No unique_by_args_paths: River Go selects fields with struct tags, which raw args cannot carry.
		Capabilities:   []string{"insert", "lifecycle", "transactions", "unique_jobs", "unique_key", "validation"},
		MigrationLines: map[string]int{"main": 8},
	}, nil
}

type adapter struct {
	pool   *pgxpool.Pool
	schema string
	client *river.Client[pgx.Tx]
}

func (a *adapter) Insert(ctx context.Context, tx pgx.Tx, jobs []*conformanceadapter.Insert, batch bool) ([]conformanceadapter.InsertResult, *conformanceadapter.Error) {
	params := make([]river.InsertManyParams, 0, len(jobs))
	for _, job := range jobs {
		built, rerr := buildInsert(job)
		if rerr != nil {
			return nil, rerr
		}
		params = append(params, built)
	}
	var results []*rivertype.JobInsertResult
	var err error
	switch {
	case tx == nil && !batch:
		var one *rivertype.JobInsertResult
		one, err = a.client.Insert(ctx, params[0].Args, params[0].InsertOpts)
		results = []*rivertype.JobInsertResult{one}
	case tx == nil:
		results, err = a.client.InsertMany(ctx, params)
	case !batch:
		var one *rivertype.JobInsertResult
		one, err = a.client.InsertTx(ctx, tx, params[0].Args, params[0].InsertOpts)
		results = []*rivertype.JobInsertResult{one}
	default:
		results, err = a.client.InsertManyTx(ctx, tx, params)
	}
	if err != nil {
		return nil, classify(err)
	}
	out := make([]conformanceadapter.InsertResult, len(results))
	for i, res := range results {
		out[i] = conformanceadapter.NewInsertResult(res.Job, res.UniqueSkippedAsDuplicate)
	}
	return out, nil
}

type stubTime struct{ now time.Time }

func (t stubTime) Now() time.Time       { return t.now }
func (t stubTime) NowOrNil() *time.Time { return &t.now }

// UniqueKey lets River compute the key: a client whose clock is the request's `now`
// inserts the job, with all its options, in a transaction that is always rolled back.
func (a *adapter) UniqueKey(ctx context.Context, request *conformanceadapter.UniqueKey) (conformanceadapter.UniqueKeyResult, *conformanceadapter.Error) {
	var none conformanceadapter.UniqueKeyResult
	built, rerr := buildInsert(request.Job)
	if rerr != nil {
		return none, rerr
	}
	client, err := river.NewClient(riverpgxv5.New(a.pool), &river.Config{Schema: a.schema, Test: river.TestConfig{Time: stubTime{now: request.Now}}})
	if err != nil {
		return none, conformanceadapter.Classify(err, conformanceadapter.CodeInternal)
	}
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		return none, classify(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	res, err := client.InsertTx(ctx, tx, built.Args, built.InsertOpts)
	if err != nil {
		return none, classify(err)
	}
	// A job River does not make unique has no key: NewUniqueKeyResult answers null.
	return conformanceadapter.NewUniqueKeyResult(res.Job.UniqueKey, conformanceadapter.StateMask(res.Job.UniqueStates)), nil
}
