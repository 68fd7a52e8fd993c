// Command riverbench measures River Go v0.51.2 (the library, with its pgx v5 driver) the
// way `riverboat bench` measures riverboat, so bench/compare can set the two side by side.
// River's own CLI (cmd/river, whose `river bench` this stands in for) is not served by the
// module proxy here.
//
//	riverbench -database-url URL burndown   -jobs N [-max-workers 2000] [-fetch-cooldown 2ms] [-fetch-poll-interval 20ms]
//	riverbench -database-url URL steady     [-rate 500] [-duration 20s] [-max-workers 100] [-fetch-cooldown 100ms] [-fetch-poll-interval 1s]
//	riverbench -database-url URL insertmany -jobs N [-batch 1000]
//
// Each prints one JSON object on stdout: besides its figures, the timed phase's wall seconds,
// this process's CPU seconds over it (getrusage) and when it began and ended (seconds since
// the epoch, for bench/compare to read the database's CPU time over the same span). Every
// mode runs VACUUM ANALYZE on river_job right before timing, as every bench/compare contender
// does. The database must be migrated and hold no jobs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

const kind = "bench"

type benchArgs struct {
	N int `json:"n"`
}

func (benchArgs) Kind() string { return kind }

// noopWorker counts the jobs it starts and, when asked, records each one's delay from
// insert (created_at) to the start of work.
type noopWorker struct {
	river.WorkerDefaults[benchArgs]
	worked atomic.Int64
	record bool
	mu     sync.Mutex
	delays []float64
}

func (w *noopWorker) Work(_ context.Context, job *river.Job[benchArgs]) error {
	if w.record {
		delay := time.Since(job.CreatedAt).Seconds()
		w.mu.Lock()
		w.delays = append(w.delays, delay)
		w.mu.Unlock()
	}
	w.worked.Add(1)
	return nil
}

// stopwatch times a phase: wall time, this process's CPU time, and when it began.
type stopwatch struct {
	start    time.Time
	cpuStart float64
}

func startStopwatch() stopwatch {
	return stopwatch{start: time.Now(), cpuStart: cpuSeconds()}
}

// stop returns the phase's figures, added to the mode's own in its JSON object.
func (s stopwatch) stop() map[string]any {
	end := time.Now()
	return map[string]any{
		"seconds": end.Sub(s.start).Seconds(), "cpu_seconds": cpuSeconds() - s.cpuStart,
		"started_at": epochSeconds(s.start), "ended_at": epochSeconds(end),
	}
}

func epochSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// cpuSeconds is the user and system CPU time this process has used.
func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano()).Seconds()
}

// vacuum runs VACUUM ANALYZE on the jobs table, right before timing.
func vacuum(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, "VACUUM ANALYZE river_job")
	return err
}

// withPhase adds a timed phase's figures to a mode's result.
func withPhase(result map[string]any, phase map[string]any) map[string]any {
	for k, v := range phase {
		result[k] = v
	}
	result["jobs_per_second"] = float64(result["jobs"].(int)) / phase["seconds"].(float64)
	return result
}

type queueFlags struct {
	maxWorkers        int
	fetchCooldown     time.Duration
	fetchPollInterval time.Duration
}

func (q *queueFlags) register(fs *flag.FlagSet, maxWorkers int, cooldown, poll time.Duration) {
	fs.IntVar(&q.maxWorkers, "max-workers", maxWorkers, "MaxWorkers of the queue")
	fs.DurationVar(&q.fetchCooldown, "fetch-cooldown", cooldown, "FetchCooldown")
	fs.DurationVar(&q.fetchPollInterval, "fetch-poll-interval", poll, "FetchPollInterval")
}

func main() {
	databaseURL := flag.String("database-url", "", "database to use (migrated, no jobs)")
	flag.Parse()
	if flag.NArg() < 1 {
		fail(errors.New("a mode is required: burndown, steady or insertmany"))
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, *databaseURL)
	if err != nil {
		fail(err)
	}
	defer pool.Close()
	mode, rest := flag.Arg(0), flag.Args()[1:]
	var result map[string]any
	switch mode {
	case "burndown":
		result, err = burndown(ctx, pool, rest)
	case "steady":
		result, err = steady(ctx, pool, rest)
	case "insertmany":
		result, err = insertMany(ctx, pool, rest)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "riverbench:", err)
	os.Exit(1)
}

func newClient(pool *pgxpool.Pool, q queueFlags, worker *noopWorker) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, worker)
	return river.NewClient(riverpgxv5.New(pool), &river.Config{
		FetchCooldown:     q.fetchCooldown,
		FetchPollInterval: q.fetchPollInterval,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.maxWorkers}},
		Workers:           workers,
	})
}

// insertJobs inserts count jobs with InsertMany in batches of batch, numbering them from first.
func insertJobs(ctx context.Context, client *river.Client[pgx.Tx], first, count, batch int) error {
	params := make([]river.InsertManyParams, 0, batch)
	for done := 0; done < count; done += len(params) {
		params = params[:0]
		for i := done; i < count && len(params) < batch; i++ {
			params = append(params, river.InsertManyParams{Args: benchArgs{N: first + i}})
		}
		if _, err := client.InsertMany(ctx, params); err != nil {
			return err
		}
	}
	return nil
}

// burndown inserts the jobs first, then times from client start until River reports every
// one completed (its completer has written them), as River's own bench does.
func burndown(ctx context.Context, pool *pgxpool.Pool, args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("burndown", flag.ExitOnError)
	jobs := fs.Int("jobs", 20_000, "jobs to insert and work")
	var q queueFlags
	// River's own bench settings for throughput.
	q.register(fs, 2_000, 2*time.Millisecond, 20*time.Millisecond)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	worker := &noopWorker{}
	client, err := newClient(pool, q, worker)
	if err != nil {
		return nil, err
	}
	if err := insertJobs(ctx, client, 0, *jobs, 5_000); err != nil {
		return nil, err
	}
	if err := vacuum(ctx, pool); err != nil {
		return nil, err
	}
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: *jobs,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled},
	})
	defer cancel()
	watch := startStopwatch()
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	for finished := 0; finished < *jobs; finished++ {
		select {
		case event := <-events:
			if event.Kind != river.EventKindJobCompleted {
				return nil, fmt.Errorf("job %d ended %s", event.Job.ID, event.Kind)
			}
		case <-time.After(60 * time.Second):
			return nil, fmt.Errorf("stalled after %d of %d jobs", finished, *jobs)
		}
	}
	phase := watch.stop()
	if err := client.Stop(ctx); err != nil {
		return nil, err
	}
	return withPhase(map[string]any{
		"mode": "burndown", "jobs": *jobs, "max_workers": q.maxWorkers, "max_rss_mb": maxRSSMB(),
	}, phase), nil
}

// steady inserts at rate jobs/s (one InsertMany every 10 ms) for duration while the same
// client works them, then waits until every inserted job has started.
func steady(ctx context.Context, pool *pgxpool.Pool, args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("steady", flag.ExitOnError)
	rate := fs.Float64("rate", 500, "jobs inserted per second")
	duration := fs.Duration("duration", 20*time.Second, "how long to insert")
	var q queueFlags
	// River's defaults.
	q.register(fs, 100, 100*time.Millisecond, time.Second)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	worker := &noopWorker{record: true, delays: make([]float64, 0, int(*rate*duration.Seconds())+1)}
	client, err := newClient(pool, q, worker)
	if err != nil {
		return nil, err
	}
	if err := vacuum(ctx, pool); err != nil {
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	const tick = 10 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	watch := startStopwatch()
	start := watch.start
	inserted := 0
	for elapsed := time.Duration(0); elapsed < *duration; elapsed = time.Since(start) {
		<-ticker.C
		due := int(math.Min(*rate*time.Since(start).Seconds(), *rate*duration.Seconds()))
		if due > inserted {
			if err := insertJobs(ctx, client, inserted, due-inserted, due-inserted); err != nil {
				return nil, err
			}
			inserted = due
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for worker.worked.Load() < int64(inserted) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d jobs started", worker.worked.Load(), inserted)
		}
		time.Sleep(time.Millisecond)
	}
	phase := watch.stop()
	if err := client.Stop(ctx); err != nil {
		return nil, err
	}
	delays := worker.delays
	sort.Float64s(delays)
	return withPhase(map[string]any{
		"mode": "steady", "rate": *rate, "jobs": inserted,
		"delay_p50_ms": 1000 * percentile(delays, 50), "delay_p95_ms": 1000 * percentile(delays, 95),
		"delay_p99_ms": 1000 * percentile(delays, 99), "max_workers": q.maxWorkers, "max_rss_mb": maxRSSMB(),
	}, phase), nil
}

// insertMany times InsertMany of jobs jobs in batches (an insert-only client, as an
// application would use), after one untimed InsertMany of a single job that opens the
// pool's connection, as every bench/compare insert contender does.
func insertMany(ctx context.Context, pool *pgxpool.Pool, args []string) (map[string]any, error) {
	fs := flag.NewFlagSet("insertmany", flag.ExitOnError)
	jobs := fs.Int("jobs", 20_000, "jobs to insert")
	batch := fs.Int("batch", 1_000, "jobs per InsertMany")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	if err := insertJobs(ctx, client, 0, 1, 1); err != nil {
		return nil, err
	}
	watch := startStopwatch()
	if err := insertJobs(ctx, client, 1, *jobs, *batch); err != nil {
		return nil, err
	}
	return withPhase(map[string]any{"mode": "insertmany", "jobs": *jobs, "batch": *batch}, watch.stop()), nil
}

// percentile is the nearest-rank percentile of sorted values (0 when there are none).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// maxRSSMB is the peak resident set size of this process (VmHWM), in MiB.
func maxRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(fields[1], 64)
			return kb / 1024
		}
	}
	return 0
}
