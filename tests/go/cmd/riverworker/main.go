// Command riverworker runs a River Go v0.51.2 client working queue "go_queue" (kinds
// "go_task", which succeeds, and "go_fail", which fails and is retried at once) so tests
// can run a mixed fleet with riverboat on one database. It inserts riverboat's jobs and
// cancels jobs on command.
//
//	riverworker -database-url URL -id CLIENT_ID
//
// stdin commands: "insert N" (N py_task jobs on py_queue), "cancel JOB_ID", "stop".
// stdout lines: "started", "worked JOB_ID", "ok", "error MSG", "stopped", and River's own
// warnings and errors as "log ..." lines.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

type goTaskArgs struct {
	N int `json:"n"`
}

func (goTaskArgs) Kind() string { return "go_task" }

type goTaskWorker struct {
	river.WorkerDefaults[goTaskArgs]
}

func (goTaskWorker) Work(_ context.Context, job *river.Job[goTaskArgs]) error {
	say("worked %d", job.ID)
	return nil
}

type goFailArgs struct{}

func (goFailArgs) Kind() string { return "go_fail" }

type goFailWorker struct {
	river.WorkerDefaults[goFailArgs]
}

func (goFailWorker) Work(context.Context, *river.Job[goFailArgs]) error {
	return errors.New("go_fail always fails")
}

// NextRetry retries at once, so a test sees several attempts' errors quickly.
func (goFailWorker) NextRetry(*river.Job[goFailArgs]) time.Time { return time.Now() }

type pyTaskArgs struct {
	N int `json:"n"`
}

func (pyTaskArgs) Kind() string { return "py_task" }

func (pyTaskArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "py_queue"} }

var outMu sync.Mutex

func say(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Printf(format+"\n", args...)
}

// logLines writes River's log records as "log ..." lines, each in one piece.
type logLines struct{}

func (logLines) Write(p []byte) (int, error) {
	outMu.Lock()
	defer outMu.Unlock()
	if _, err := fmt.Printf("log %s", p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func main() {
	databaseURL := flag.String("database-url", "", "database to work")
	id := flag.String("id", "go-worker", "client ID")
	flag.Parse()
	if err := run(*databaseURL, *id); err != nil {
		say("error %s", err)
		os.Exit(1)
	}
}

func run(databaseURL, id string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	workers := river.NewWorkers()
	river.AddWorker(workers, &goTaskWorker{})
	river.AddWorker(workers, &goFailWorker{})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		ID:      id,
		Logger:  slog.New(slog.NewTextHandler(logLines{}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Queues:  map[string]river.QueueConfig{"go_queue": {MaxWorkers: 10}},
		Workers: workers,
		// py_task is worked by riverboat, not here.
		SkipUnknownJobCheck: true,
	})
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return err
	}
	say("started")
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "insert":
			count, _ := strconv.Atoi(fields[1])
			params := make([]river.InsertManyParams, count)
			for i := range params {
				params[i] = river.InsertManyParams{Args: pyTaskArgs{N: i}}
			}
			if _, err := client.InsertMany(ctx, params); err != nil {
				say("error %s", err)
				continue
			}
			say("ok")
		case "cancel":
			jobID, _ := strconv.ParseInt(fields[1], 10, 64)
			if _, err := client.JobCancel(ctx, jobID); err != nil {
				say("error %s", err)
				continue
			}
			say("ok")
		case "stop":
			if err := client.Stop(ctx); err != nil {
				return err
			}
			say("stopped")
			return nil
		}
	}
	return client.Stop(ctx)
}
