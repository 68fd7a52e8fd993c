// Command riverboat-conformance-adapter drives the riverboat Go client for the
// conformance suite (conformance/ADAPTER.md, profile insert-only-v1 plus contract_load):
// JSON-RPC 2.0 over stdio, one request per line, answered one line each. The protocol is
// riverboat.dev/go/riverboat/conformanceadapter's; this command maps its requests onto
// the client.
//
//	conformance/run -- riverboat-conformance-adapter
package main

import (
	"context"
	"encoding/json"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"riverboat.dev/go/riverboat"
	"riverboat.dev/go/riverboat/conformanceadapter"
)

func main() {
	conformanceadapter.Main("riverboat-conformance-adapter", setup)
}

func setup(_ context.Context, pool *pgxpool.Pool, schema string) (conformanceadapter.Client, conformanceadapter.Config, error) {
	config := riverboat.Config{Schema: schema}
	client, err := riverboat.NewClient(pool, &config)
	if err != nil {
		return nil, conformanceadapter.Config{}, err
	}
	a := &adapter{pool: pool, config: config, client: client}
	return a, conformanceadapter.Config{
		Implementation:        "riverboat-go",
		ImplementationVersion: "0.1.0",
		Capabilities: []string{
			"insert", "lifecycle", "transactions", "unique_jobs", "unique_key", "unique_by_args_paths", "validation",
			"kind_validation", "reserved_metadata", "args_contract",
		},
		MigrationLines: map[string]int{"main": 8},
		Methods:        map[string]conformanceadapter.Method{"contract_load": a.contractLoad},
	}, nil
}

type adapter struct {
	pool     *pgxpool.Pool
	config   riverboat.Config
	client   *riverboat.Client
	schemas  map[string]json.RawMessage // contract_load's kinds, by kind
	strict   *riverboat.Client          // the client with the contract, once one is loaded
	contract *riverboat.Contract
}

// clientFor picks the client for a batch: one with a contract rejects kinds outside it, so
// the contract client takes the batches that name a contracted kind.
func (a *adapter) clientFor(params []riverboat.InsertManyParams) *riverboat.Client {
	if a.contract == nil {
		return a.client
	}
	for _, p := range params {
		if _, ok := a.schemas[p.Args.Kind()]; ok {
			return a.strict
		}
	}
	return a.client
}

func (a *adapter) Insert(ctx context.Context, tx pgx.Tx, jobs []*conformanceadapter.Insert, batch bool) ([]conformanceadapter.InsertResult, *conformanceadapter.Error) {
	params := make([]riverboat.InsertManyParams, 0, len(jobs))
	for _, job := range jobs {
		p, rerr := insertManyParams(job)
		if rerr != nil {
			return nil, rerr
		}
		params = append(params, p)
	}
	client := a.clientFor(params)
	var results []*riverboat.InsertResult
	var err error
	switch {
	case tx == nil && !batch:
		var one *riverboat.InsertResult
		one, err = client.Insert(ctx, params[0].Args, params[0].InsertOpts)
		results = []*riverboat.InsertResult{one}
	case tx == nil:
		results, err = client.InsertMany(ctx, params)
	case !batch:
		var one *riverboat.InsertResult
		one, err = client.InsertTx(ctx, tx, params[0].Args, params[0].InsertOpts)
		results = []*riverboat.InsertResult{one}
	default:
		results, err = client.InsertManyTx(ctx, tx, params)
	}
	if err != nil {
		return nil, classify(err)
	}
	out := make([]conformanceadapter.InsertResult, len(results))
	for i, r := range results {
		out[i] = conformanceadapter.NewInsertResult(r.Job, r.UniqueSkippedAsDuplicate)
	}
	return out, nil
}

func (a *adapter) UniqueKey(_ context.Context, request *conformanceadapter.UniqueKey) (conformanceadapter.UniqueKeyResult, *conformanceadapter.Error) {
	var none conformanceadapter.UniqueKeyResult
	job := request.Job
	if job.Unique == nil {
		return none, nil
	}
	opts := uniqueOpts(*job.Unique)
	if err := opts.Validate(); err != nil {
		return none, classify(err)
	}
	args := riverboat.RawArgs{JobKind: job.Kind, JSON: job.Args}
	encoded, err := riverboat.EncodeArgs(args)
	if err != nil {
		return none, classify(err)
	}
	queue := riverboat.QueueDefault
	if job.Queue != nil {
		queue = *job.Queue
	}
	key, err := riverboat.UniqueKey(args, encoded, queue, opts, job.ScheduledAt, request.Now)
	if err != nil {
		return none, classify(err)
	}
	return conformanceadapter.NewUniqueKeyResult(key, int(riverboat.UniqueStatesMask(opts))), nil
}

// contractLoad registers a contract: the kinds loaded so far plus this one, in a second
// client (ADAPTER.md#contract-load).
func (a *adapter) contractLoad(_ context.Context, raw json.RawMessage) (any, *conformanceadapter.Error) {
	var p struct {
		Kind     string          `json:"kind"`
		Contract json.RawMessage `json:"contract"`
	}
	if rerr := conformanceadapter.DecodeParams(raw, &p); rerr != nil {
		return nil, rerr
	}
	schemas := map[string]json.RawMessage{}
	maps.Copy(schemas, a.schemas)
	schemas[p.Kind] = p.Contract
	kinds := make(map[string]riverboat.KindContract, len(schemas))
	for kind, schema := range schemas {
		kinds[kind] = riverboat.KindContract{ArgsSchema: schema}
	}
	contract, err := riverboat.NewContract(kinds)
	if err != nil {
		return nil, classify(err)
	}
	config := a.config
	config.Contract = contract
	strict, err := riverboat.NewClient(a.pool, &config)
	if err != nil {
		return nil, classify(err)
	}
	a.schemas, a.contract, a.strict = schemas, contract, strict
	return map[string]any{}, nil
}
