// Command riverinsert inserts jobs with River Go's insert-only client, so tests can check
// that River Go and riverboat dedupe unique jobs against each other.
//
//	riverinsert -database-url URL [-schema S] < jobs.jsonl
//
// Each input line is {"kind", "args" (raw JSON object), "queue", "scheduled_at",
// "unique": {"by_args", "by_period_seconds", "by_queue", "by_state", "exclude_kind"}};
// all lines go in one InsertMany. Each output line is {"id", "skipped", "unique_key" (hex)}.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// kindArgs is job args whose kind and JSON come from the input line.
type kindArgs struct {
	kind string
	raw  json.RawMessage
}

func (a kindArgs) Kind() string                 { return a.kind }
func (a kindArgs) MarshalJSON() ([]byte, error) { return a.raw, nil }

type uniqueSpec struct {
	ByArgs          bool     `json:"by_args"`
	ByPeriodSeconds float64  `json:"by_period_seconds"`
	ByQueue         bool     `json:"by_queue"`
	ByState         []string `json:"by_state"`
	ExcludeKind     bool     `json:"exclude_kind"`
}

type jobSpec struct {
	Kind        string          `json:"kind"`
	Args        json.RawMessage `json:"args"`
	Queue       string          `json:"queue"`
	ScheduledAt *time.Time      `json:"scheduled_at"`
	Unique      *uniqueSpec     `json:"unique"`
}

type result struct {
	ID        int64  `json:"id"`
	Skipped   bool   `json:"skipped"`
	UniqueKey string `json:"unique_key"`
}

func main() {
	databaseURL := flag.String("database-url", "", "database to insert into")
	schema := flag.String("schema", "", "schema of River's tables (default: search_path)")
	flag.Parse()
	if err := run(*databaseURL, *schema); err != nil {
		fmt.Fprintln(os.Stderr, "riverinsert:", err)
		os.Exit(1)
	}
}

func run(databaseURL, schema string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: schema})
	if err != nil {
		return err
	}

	var params []river.InsertManyParams
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		var spec jobSpec
		if err := json.Unmarshal(scanner.Bytes(), &spec); err != nil {
			return err
		}
		opts := &river.InsertOpts{Queue: spec.Queue}
		if spec.ScheduledAt != nil {
			opts.ScheduledAt = *spec.ScheduledAt
		}
		if u := spec.Unique; u != nil {
			opts.UniqueOpts = river.UniqueOpts{
				ByArgs:      u.ByArgs,
				ByPeriod:    time.Duration(u.ByPeriodSeconds * float64(time.Second)),
				ByQueue:     u.ByQueue,
				ExcludeKind: u.ExcludeKind,
			}
			for _, state := range u.ByState {
				opts.UniqueOpts.ByState = append(opts.UniqueOpts.ByState, rivertype.JobState(state))
			}
		}
		params = append(params, river.InsertManyParams{Args: kindArgs{kind: spec.Kind, raw: spec.Args}, InsertOpts: opts})
	}
	if err := scanner.Err(); err != nil {
		return err
	}

	results, err := client.InsertMany(ctx, params)
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	for _, r := range results {
		if err := out.Encode(result{ID: r.Job.ID, Skipped: r.UniqueSkippedAsDuplicate, UniqueKey: hex.EncodeToString(r.Job.UniqueKey)}); err != nil {
			return err
		}
	}
	return nil
}
