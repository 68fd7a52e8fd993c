package conformanceadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Client is the client-specific half of an adapter: the requests only its client can
// answer, with the params already decoded.
type Client interface {
	// Insert inserts jobs with the client, inside tx unless tx is nil, and returns the
	// results in input order. batch is false for insert and tx_insert (one job, for the
	// client's single-job API) and true for insert_many and tx_insert_many (one atomic
	// batch).
	Insert(ctx context.Context, tx pgx.Tx, jobs []*Insert, batch bool) ([]InsertResult, *Error)
	// UniqueKey answers unique_key.
	UniqueKey(ctx context.Context, request *UniqueKey) (UniqueKeyResult, *Error)
}

// Method answers a request of one of an adapter's own methods.
type Method func(ctx context.Context, params json.RawMessage) (any, *Error)

// Config is what the handshake says about an adapter (ADAPTER.md#handshake), and the
// adapter's methods beyond the insert-only-v1 set.
type Config struct {
	Implementation        string
	ImplementationVersion string
	Capabilities          []string
	// MigrationLines maps each migration line the client knows to the newest version.
	MigrationLines map[string]int
	// Methods are the adapter's own methods (contract_load), by name.
	Methods map[string]Method
}

// profileMethods are the insert-only-v1 method set, which every adapter answers.
var profileMethods = []string{
	"handshake", "insert", "insert_many", "tx_begin", "tx_commit", "tx_insert", "tx_insert_many", "tx_rollback", "unique_key",
}

// DB opens the transactions of tx_begin; a *pgxpool.Pool is one.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Server answers the requests of ADAPTER.md#methods, holding the open transactions.
type Server struct {
	db     DB
	client Client
	config Config
	txs    map[string]pgx.Tx
}

func NewServer(db DB, client Client, config Config) *Server {
	return &Server{db: db, client: client, config: config, txs: map[string]pgx.Tx{}}
}

type handshakeResult struct {
	AdapterVersion        int            `json:"adapter_version"`
	Backend               string         `json:"backend"`
	Capabilities          []string       `json:"capabilities"`
	Implementation        string         `json:"implementation"`
	ImplementationVersion string         `json:"implementation_version"`
	Methods               []string       `json:"methods"`
	MigrationLines        map[string]int `json:"migration_lines"`
	Profile               string         `json:"profile"`
	ProtocolRevision      int            `json:"protocol_revision"`
}

type batchResult struct {
	Results []InsertResult `json:"results"`
}

// Handle answers one request.
func (s *Server) Handle(ctx context.Context, method string, params json.RawMessage) (any, *Error) {
	switch method {
	case "handshake":
		return handshakeResult{
			AdapterVersion:        1,
			Backend:               "postgres",
			Capabilities:          s.config.Capabilities,
			Implementation:        s.config.Implementation,
			ImplementationVersion: s.config.ImplementationVersion,
			Methods:               append(slices.Clone(profileMethods), slices.Sorted(maps.Keys(s.config.Methods))...),
			MigrationLines:        s.config.MigrationLines,
			Profile:               "insert-only-v1",
			ProtocolRevision:      1,
		}, nil
	case "insert":
		return s.insert(ctx, nil, []json.RawMessage{params}, false)
	case "insert_many":
		var p struct {
			Jobs []json.RawMessage `json:"jobs"`
		}
		if rerr := DecodeParams(params, &p); rerr != nil {
			return nil, rerr
		}
		return s.insert(ctx, nil, p.Jobs, true)
	case "unique_key":
		request, rerr := DecodeUniqueKey(params)
		if rerr != nil {
			return nil, rerr
		}
		result, rerr := s.client.UniqueKey(ctx, request)
		if rerr != nil {
			return nil, rerr
		}
		return result, nil
	case "tx_begin", "tx_insert", "tx_insert_many", "tx_commit", "tx_rollback":
		return s.handleTx(ctx, method, params)
	}
	if own, ok := s.config.Methods[method]; ok {
		return own(ctx, params)
	}
	return nil, &Error{Code: CodeMethodNotFound, Message: "method not found: " + method}
}

// insert decodes jobs and has the client insert them: a batch answers {"results": [...]},
// a single job its one result.
func (s *Server) insert(ctx context.Context, tx pgx.Tx, raws []json.RawMessage, batch bool) (any, *Error) {
	jobs := make([]*Insert, 0, len(raws))
	for _, raw := range raws {
		job, rerr := DecodeInsert(raw)
		if rerr != nil {
			return nil, rerr
		}
		jobs = append(jobs, job)
	}
	results, rerr := s.client.Insert(ctx, tx, jobs, batch)
	if rerr != nil {
		return nil, rerr
	}
	if !batch {
		return results[0], nil
	}
	return batchResult{Results: results}, nil
}

// handleTx answers the methods on transaction handles (ADAPTER.md#transactions).
func (s *Server) handleTx(ctx context.Context, method string, params json.RawMessage) (any, *Error) {
	var p struct {
		Handle string            `json:"handle"`
		Job    json.RawMessage   `json:"job"`
		Jobs   []json.RawMessage `json:"jobs"`
	}
	if rerr := DecodeParams(params, &p); rerr != nil {
		return nil, rerr
	}
	if p.Handle == "" {
		return nil, Invalid("handle", "required", "handle is required")
	}
	tx, open := s.txs[p.Handle]
	if method == "tx_begin" {
		if open {
			return nil, Invalid("handle", "duplicate", "transaction %q is already open", p.Handle)
		}
		newTx, err := s.db.Begin(ctx)
		if err != nil {
			return nil, Classify(err, CodeInternal)
		}
		s.txs[p.Handle] = newTx
		return map[string]any{}, nil
	}
	if !open {
		return nil, &Error{Code: CodeNotFound, Message: fmt.Sprintf("unknown transaction handle %q", p.Handle)}
	}
	switch method {
	case "tx_insert":
		return s.insert(ctx, tx, []json.RawMessage{p.Job}, false)
	case "tx_insert_many":
		return s.insert(ctx, tx, p.Jobs, true)
	}
	delete(s.txs, p.Handle)
	end := tx.Rollback
	if method == "tx_commit" {
		end = tx.Commit
	}
	if err := end(ctx); err != nil {
		return nil, Classify(err, CodeInternal)
	}
	return map[string]any{}, nil
}
