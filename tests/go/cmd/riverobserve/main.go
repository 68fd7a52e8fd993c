// Command riverobserve runs River Go v0.51.2 with otelriver v0.12.0 or riverlog, so tests
// can check that traces and per-job logs cross between River Go and riverboat. Spans go
// to an in-memory exporter; every mode prints one JSON document on stdout.
//
//	riverobserve -database-url URL -mode otel-insert
//	    inserts one otel_py_task job inside a span; prints {job_id, trace_id, insert_span_id}
//	riverobserve -database-url URL -mode otel-work -count N
//	    works N otel_go_task jobs; prints [{job_id, trace_id, span_id, parent_span_id, links}]
//	riverobserve -database-url URL -mode log-work -count N
//	    works N log_go_task jobs with riverlog (a job with "fail": true fails); prints {"worked": N}
//	riverobserve -database-url URL -mode log-read -id ID
//	    reads job ID with JobGet; prints its river:log entries decoded as riverlog's layout
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverlog"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

type otelPyTaskArgs struct {
	N int `json:"n"`
}

func (otelPyTaskArgs) Kind() string { return "otel_py_task" }

type otelGoTaskArgs struct {
	N int `json:"n"`
}

func (otelGoTaskArgs) Kind() string { return "otel_go_task" }

type otelGoTaskWorker struct {
	river.WorkerDefaults[otelGoTaskArgs]
}

func (otelGoTaskWorker) Work(context.Context, *river.Job[otelGoTaskArgs]) error { return nil }

type logGoTaskArgs struct {
	Fail bool `json:"fail"`
}

func (logGoTaskArgs) Kind() string { return "log_go_task" }

type logGoTaskWorker struct {
	river.WorkerDefaults[logGoTaskArgs]
}

func (logGoTaskWorker) Work(ctx context.Context, job *river.Job[logGoTaskArgs]) error {
	riverlog.Logger(ctx).InfoContext(ctx, "hello from go", "attempt", job.Attempt)
	if job.Args.Fail {
		return errors.New("failed on purpose")
	}
	return nil
}

// The layout riverlog writes under "river:log" (its own type is unexported).
type logAttempt struct {
	Attempt int    `json:"attempt"`
	Log     string `json:"log"`
}

type workSpan struct {
	JobID        int64      `json:"job_id"`
	TraceID      string     `json:"trace_id"`
	SpanID       string     `json:"span_id"`
	ParentSpanID string     `json:"parent_span_id"`
	Links        []spanLink `json:"links"`
}

type spanLink struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

func main() {
	databaseURL := flag.String("database-url", "", "database")
	mode := flag.String("mode", "", "otel-insert, otel-work, log-work or log-read")
	count := flag.Int("count", 1, "jobs to work")
	id := flag.Int64("id", 0, "job to read")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := run(ctx, *databaseURL, *mode, *count, *id)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, databaseURL, mode string, count int, id int64) (any, error) {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	exporter := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	otel := otelriver.NewMiddleware(&otelriver.MiddlewareConfig{EnableTracePropagation: true, TracerProvider: provider})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	switch mode {
	case "otel-insert":
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quiet, Middleware: []rivertype.Middleware{otel}})
		if err != nil {
			return nil, err
		}
		spanCtx, span := provider.Tracer("riverobserve").Start(ctx, "go service request")
		res, err := client.Insert(spanCtx, otelPyTaskArgs{N: 1}, nil)
		span.End()
		if err != nil {
			return nil, err
		}
		for _, stub := range exporter.GetSpans() {
			if stub.Name == "river.insert_many" {
				return map[string]any{
					"job_id":         res.Job.ID,
					"trace_id":       stub.SpanContext.TraceID().String(),
					"insert_span_id": stub.SpanContext.SpanID().String(),
				}, nil
			}
		}
		return nil, errors.New("no river.insert_many span was recorded")
	case "otel-work":
		workers := river.NewWorkers()
		river.AddWorker(workers, &otelGoTaskWorker{})
		if err := work(ctx, pool, workers, []rivertype.Middleware{otel}, quiet, count); err != nil {
			return nil, err
		}
		spans := []workSpan{}
		for _, stub := range exporter.GetSpans() {
			if stub.Name != "river.work" {
				continue
			}
			span := workSpan{TraceID: stub.SpanContext.TraceID().String(), SpanID: stub.SpanContext.SpanID().String(), Links: []spanLink{}}
			if stub.Parent.IsValid() {
				span.ParentSpanID = stub.Parent.SpanID().String()
			}
			for _, attr := range stub.Attributes {
				if attr.Key == "id" {
					span.JobID = attr.Value.AsInt64()
				}
			}
			for _, link := range stub.Links {
				span.Links = append(span.Links, spanLink{link.SpanContext.TraceID().String(), link.SpanContext.SpanID().String()})
			}
			spans = append(spans, span)
		}
		return spans, nil
	case "log-work":
		workers := river.NewWorkers()
		river.AddWorker(workers, &logGoTaskWorker{})
		logs := riverlog.NewMiddleware(func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }, nil)
		if err := work(ctx, pool, workers, []rivertype.Middleware{logs}, quiet, count); err != nil {
			return nil, err
		}
		return map[string]int{"worked": count}, nil
	case "log-read":
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quiet})
		if err != nil {
			return nil, err
		}
		job, err := client.JobGet(ctx, id)
		if err != nil {
			return nil, err
		}
		var metadata struct {
			RiverLog []logAttempt `json:"river:log"`
		}
		if err := json.Unmarshal(job.Metadata, &metadata); err != nil {
			return nil, err
		}
		return metadata.RiverLog, nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

// work runs a River client on queue "default" until count jobs have ended (completed or
// failed), then stops it.
func work(ctx context.Context, pool *pgxpool.Pool, workers *river.Workers, middleware []rivertype.Middleware, logger *slog.Logger, count int) error {
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:     logger,
		Middleware: middleware,
		Queues:     map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}},
		Workers:    workers,
		// Other kinds on the queue belong to riverboat.
		SkipUnknownJobCheck: true,
		FetchPollInterval:   50 * time.Millisecond,
		FetchCooldown:       10 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	events, unsubscribe := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer unsubscribe()
	if err := client.Start(ctx); err != nil {
		return err
	}
	for ended := 0; ended < count; {
		select {
		case <-events:
			ended++
		case <-ctx.Done():
			return fmt.Errorf("%d of %d jobs ended before the deadline", ended, count)
		}
	}
	return client.Stop(ctx)
}
