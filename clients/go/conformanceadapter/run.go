package conformanceadapter

import (
	"context"
	"errors"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Setup builds an adapter's client on the runner's database. schema is the schema holding
// the River tables ("" for the search path).
type Setup func(ctx context.Context, pool *pgxpool.Pool, schema string) (Client, Config, error)

// Main is an adapter's whole main function: it connects to the database the runner names
// (ADAPTER.md#environment), builds the client with setup and answers stdin on stdout
// until stdin closes. It logs to stderr, prefixed with name, and exits 1 if it cannot
// start.
func Main(name string, setup Setup) {
	log.SetOutput(os.Stderr)
	log.SetPrefix(name + ": ")
	if err := run(context.Background(), setup); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, setup Setup) error {
	url := os.Getenv("RIVER_CONFORMANCE_DATABASE_URL")
	if url == "" {
		return errors.New("RIVER_CONFORMANCE_DATABASE_URL is not set")
	}
	poolConfig, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	if name := os.Getenv("RIVER_CONFORMANCE_APPLICATION_NAME"); name != "" {
		poolConfig.ConnConfig.RuntimeParams["application_name"] = name
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return err
	}
	defer pool.Close()
	client, config, err := setup(ctx, pool, os.Getenv("RIVER_CONFORMANCE_SCHEMA"))
	if err != nil {
		return err
	}
	return NewServer(pool, client, config).Serve(ctx, os.Stdin, os.Stdout)
}
