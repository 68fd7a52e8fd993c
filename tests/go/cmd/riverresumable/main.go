// Command riverresumable works one resumable job with River Go v0.51.2's resumable API, so
// tests can interrupt a job in one language and resume it in the other; it also reads a
// job with River Go's JobGet.
//
//	riverresumable -database-url URL -queue Q -job ID   work queue Q until job ID's attempt ends
//	riverresumable -database-url URL -get ID            print {"metadata", "output"} of job ID
//
// The worker (kind "resumable_interop") runs step "prepare", cursor step "process" over
// args.items (cursor {"last": item}) and step "finish". When args.fail_lang is "go" it
// fails (how: "error" or "snooze") at args.fail_step (at item args.fail_item within
// "process"). With args.tx each item is checkpointed in its own transaction
// (ResumableSetStepCursorTx). Failed jobs retry in an hour, so the test decides when the
// next attempt runs. stdout lines: "ran prepare", "ran process N", "ran finish", then
// "done STATE" once the job's attempt is recorded.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

type resumableArgs struct {
	Items    []int  `json:"items"`
	FailLang string `json:"fail_lang"`
	FailStep string `json:"fail_step"`
	FailItem int    `json:"fail_item"`
	How      string `json:"how"`
	Tx       bool   `json:"tx"`
}

func (resumableArgs) Kind() string { return "resumable_interop" }

type processCursor struct {
	Last int `json:"last"`
}

type resumableWorker struct {
	river.WorkerDefaults[resumableArgs]
	pool *pgxpool.Pool
}

func (*resumableWorker) NextRetry(*river.Job[resumableArgs]) time.Time {
	return time.Now().Add(time.Hour)
}

func (w *resumableWorker) Work(ctx context.Context, job *river.Job[resumableArgs]) error {
	args := job.Args
	failing := func(step string, item int) error {
		if args.FailLang != "go" || args.FailStep != step || args.FailItem != item {
			return nil
		}
		if args.How == "snooze" {
			return river.JobSnooze(time.Hour)
		}
		return fmt.Errorf("failing %s at %d on purpose", step, item)
	}
	river.ResumableStep(ctx, "prepare", nil, func(context.Context) error {
		if err := failing("prepare", 0); err != nil {
			return err
		}
		fmt.Println("ran prepare")
		return nil
	})
	river.ResumableStepCursor(ctx, "process", nil, func(ctx context.Context, cursor processCursor) error {
		for _, item := range args.Items {
			if item <= cursor.Last {
				continue
			}
			if err := failing("process", item); err != nil {
				return err
			}
			fmt.Printf("ran process %d\n", item)
			if !args.Tx {
				if err := river.ResumableSetCursor(ctx, processCursor{Last: item}); err != nil {
					return err
				}
				continue
			}
			if err := w.checkpoint(ctx, job, item); err != nil {
				return err
			}
		}
		return nil
	})
	river.ResumableStep(ctx, "finish", nil, func(context.Context) error {
		if err := failing("finish", 0); err != nil {
			return err
		}
		fmt.Println("ran finish")
		return nil
	})
	return nil
}

func (w *resumableWorker) checkpoint(ctx context.Context, job *river.Job[resumableArgs], item int) error {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := river.ResumableSetStepCursorTx[*riverpgxv5.Driver](ctx, tx, job, processCursor{Last: item}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func main() {
	databaseURL := flag.String("database-url", "", "database to work")
	queue := flag.String("queue", "default", "queue to work")
	jobID := flag.Int64("job", 0, "work until this job's attempt ends")
	getID := flag.Int64("get", 0, "print this job's metadata and output")
	flag.Parse()
	if err := run(*databaseURL, *queue, *jobID, *getID); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(databaseURL, queue string, jobID, getID int64) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if getID != 0 {
		return get(ctx, pool, getID)
	}
	if jobID == 0 {
		return errors.New("give -job or -get")
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &resumableWorker{pool: pool})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{queue: {MaxWorkers: 1}},
		Workers:           workers,
		FetchPollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobSnoozed, river.EventKindJobCancelled)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		return err
	}
	for event := range events {
		if event.Job.ID == jobID {
			fmt.Printf("done %s\n", event.Job.State)
			break
		}
	}
	return client.Stop(ctx)
}

func get(ctx context.Context, pool *pgxpool.Pool, id int64) error {
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return err
	}
	job, err := client.JobGet(ctx, id)
	if err != nil {
		return err
	}
	output := job.Output()
	if output == nil {
		output = []byte("null")
	}
	encoded, err := json.Marshal(map[string]json.RawMessage{"metadata": job.Metadata, "output": output})
	if err != nil {
		return err
	}
	fmt.Println(string(encoded))
	return nil
}
