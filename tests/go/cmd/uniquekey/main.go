// Command uniquekey is the oracle for riverboat's unique keys: River Go itself computes
// them. It reads one job per stdin line (JSON, fields below), inserts it through an
// insert-only River v0.51.2 client with stubbed time into the database given by
// -database-url, and prints the stored unique_key in hex and unique_states as bits, or a
// line starting with "ERROR: ".
//
//	uniquekey -database-url URL < jobs.jsonl
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// job is one input line. Args is the exact encoded args text; Selection names one of the
// args types below whose `river:"unique"` tags select args paths ("" selects all args).
type job struct {
	Kind        string   `json:"kind"`
	Args        string   `json:"args"`
	Queue       string   `json:"queue"`
	Selection   string   `json:"selection"`
	ByArgs      bool     `json:"by_args"`
	ByPeriodUS  int64    `json:"by_period_us"`
	ByQueue     bool     `json:"by_queue"`
	ByState     []string `json:"by_state"`
	ExcludeKind bool     `json:"exclude_kind"`
	ScheduledAt string   `json:"scheduled_at"`
	Now         string   `json:"now"`
}

// rawArgs encodes as the given bytes (encoding/json compacts and HTML-escapes them).
type rawArgs struct {
	kind string
	raw  []byte
}

func (a rawArgs) Kind() string                 { return a.kind }
func (a rawArgs) MarshalJSON() ([]byte, error) { return a.raw, nil }

// accountArgs selects account.id, account.region, label and path/key.
type accountArgs struct {
	Account struct {
		ID     string `json:"id" river:"unique"`
		Region string `json:"region" river:"unique"`
	} `json:"account"`
	Label   string `json:"label" river:"unique"`
	PathKey string `json:"path/key" river:"unique"`
	rawArgs
}

// unicodeArgs selects ключ, <b>, deep.inner.z and the whole of "whole".
type unicodeArgs struct {
	Key  string `json:"ключ" river:"unique"`
	HTML string `json:"<b>" river:"unique"`
	Deep struct {
		Inner struct {
			Z int `json:"z" river:"unique"`
		} `json:"inner"`
	} `json:"deep"`
	Whole struct {
		A int `json:"a"`
	} `json:"whole" river:"unique"`
	rawArgs
}

// nestedArgs selects a and a.b, one path inside the other: the tagged field "a", and the
// tagged "b" of an embedded struct's "a" (River collects both paths; encoding/json would let
// the shallower field win, but the args are raw bytes here anyway).
type nestedArgs struct {
	A json.RawMessage `json:"a" river:"unique"`
	NestedInner
	rawArgs
}

// NestedInner is exported because River skips unexported embedded structs.
type NestedInner struct {
	A struct {
		B int `json:"b" river:"unique"`
	} `json:"a"`
}

// dottedArgs selects a.b twice over: the nested field b of a, and the top-level key "a.b"
// (whose paths join to the same string; River orders them by their escaped text).
type dottedArgs struct {
	A struct {
		B int `json:"b" river:"unique"`
	} `json:"a"`
	AB int `json:"a.b" river:"unique"`
	rawArgs
}

// backslashArgs selects the key `a\`, a path component ending in a backslash (escaped
// in River's path as `a\\`).
type backslashArgs struct {
	A int `json:"a\\" river:"unique"`
	rawArgs
}

func (a accountArgs) MarshalJSON() ([]byte, error)   { return a.raw, nil }
func (a dottedArgs) MarshalJSON() ([]byte, error)    { return a.raw, nil }
func (a backslashArgs) MarshalJSON() ([]byte, error) { return a.raw, nil }
func (a unicodeArgs) MarshalJSON() ([]byte, error)   { return a.raw, nil }
func (a nestedArgs) MarshalJSON() ([]byte, error)    { return a.raw, nil }

type stubTime struct{ now time.Time }

func (s *stubTime) Now() time.Time       { return s.now }
func (s *stubTime) NowOrNil() *time.Time { t := s.now; return &t }

func main() {
	databaseURL := flag.String("database-url", "", "River-migrated database")
	flag.Parse()
	if err := run(*databaseURL); err != nil {
		fmt.Fprintln(os.Stderr, "uniquekey:", err)
		os.Exit(1)
	}
}

func run(databaseURL string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	clock := &stubTime{}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Test: river.TestConfig{Time: clock}})
	if err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<28)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		line, err := insert(ctx, pool, client, clock, in.Bytes())
		if err != nil {
			line = "ERROR: " + err.Error()
		}
		fmt.Fprintln(out, line)
	}
	return in.Err()
}

func insert(ctx context.Context, pool *pgxpool.Pool, client *river.Client[pgx.Tx], clock *stubTime, text []byte) (string, error) {
	var j job
	if err := json.Unmarshal(text, &j); err != nil {
		return "", err
	}
	now, err := time.Parse(time.RFC3339Nano, j.Now)
	if err != nil {
		return "", err
	}
	clock.now = now
	base := rawArgs{kind: j.Kind, raw: []byte(j.Args)}
	var args river.JobArgs
	switch j.Selection {
	case "":
		args = base
	case "account":
		args = accountArgs{rawArgs: base}
	case "unicode":
		args = unicodeArgs{rawArgs: base}
	case "nested":
		args = nestedArgs{rawArgs: base}
	case "dotted":
		args = dottedArgs{rawArgs: base}
	case "backslash":
		args = backslashArgs{rawArgs: base}
	default:
		return "", fmt.Errorf("unknown selection %q", j.Selection)
	}
	opts := &river.InsertOpts{
		Queue: j.Queue,
		UniqueOpts: river.UniqueOpts{
			ByArgs:      j.ByArgs,
			ByPeriod:    time.Duration(j.ByPeriodUS) * time.Microsecond,
			ByQueue:     j.ByQueue,
			ExcludeKind: j.ExcludeKind,
		},
	}
	for _, s := range j.ByState {
		opts.UniqueOpts.ByState = append(opts.UniqueOpts.ByState, rivertype.JobState(s))
	}
	if j.ScheduledAt != "" {
		if opts.ScheduledAt, err = time.Parse(time.RFC3339Nano, j.ScheduledAt); err != nil {
			return "", err
		}
	}
	res, err := client.Insert(ctx, args, opts)
	if err != nil {
		return "", err
	}
	var key, states string
	err = pool.QueryRow(ctx,
		"SELECT encode(unique_key, 'hex'), unique_states::text FROM river_job WHERE id = $1",
		res.Job.ID).Scan(&key, &states)
	return key + " " + states, err
}
