// Command riverleader runs a River Go v0.51.2 client (one queue, one no-op worker) so
// tests can put River Go and riverboat in one fleet: it takes part in leader election,
// reports queue pause and resume events, and obeys commands read from stdin.
//
//	riverleader -database-url URL -id CLIENT_ID [-queue NAME]
//
// stdin commands: "pause QUEUE", "resume QUEUE", "request_resign", "stop".
// stdout lines: "started", "queue_paused QUEUE", "queue_resumed QUEUE", "ok", "error MSG", "stopped".
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

type noopArgs struct{}

func (noopArgs) Kind() string { return "go_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

var outMu sync.Mutex

func say(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Printf(format+"\n", args...)
}

func main() {
	databaseURL := flag.String("database-url", "", "database to work")
	id := flag.String("id", "go-client", "client ID (leader_id when elected)")
	queue := flag.String("queue", "go_queue", "queue to work")
	flag.Parse()
	if err := run(*databaseURL, *id, *queue); err != nil {
		say("error %s", err)
		os.Exit(1)
	}
}

func run(databaseURL, id, queue string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{})
	client, err := river.NewClient[pgx.Tx](riverpgxv5.New(pool), &river.Config{
		ID:      id,
		Queues:  map[string]river.QueueConfig{queue: {MaxWorkers: 2}},
		Workers: workers,
	})
	if err != nil {
		return err
	}
	events, cancel := client.Subscribe(river.EventKindQueuePaused, river.EventKindQueueResumed)
	defer cancel()
	go func() {
		for event := range events {
			if event.Kind == river.EventKindQueuePaused {
				say("queue_paused %s", event.Queue.Name)
			} else {
				say("queue_resumed %s", event.Queue.Name)
			}
		}
	}()
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
		var cmdErr error
		switch fields[0] {
		case "pause":
			cmdErr = client.QueuePause(ctx, fields[1], nil)
		case "resume":
			cmdErr = client.QueueResume(ctx, fields[1], nil)
		case "request_resign":
			cmdErr = client.Notify().RequestResign(ctx)
		case "stop":
			return stop(ctx, client)
		default:
			cmdErr = fmt.Errorf("unknown command %q", fields[0])
		}
		if cmdErr != nil {
			say("error %s", cmdErr)
		} else {
			say("ok")
		}
	}
	return stop(ctx, client)
}

func stop(ctx context.Context, client *river.Client[pgx.Tx]) error {
	if err := client.Stop(ctx); err != nil {
		return err
	}
	say("stopped")
	return nil
}
