// Command rivermigrate runs River Go's own migrator against a database, so tests can
// compare a River-migrated catalog with a riverboat-migrated one.
//
//	rivermigrate -database-url URL [-schema S] [-target-version N] up|down|list
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

func main() {
	databaseURL := flag.String("database-url", "", "database to migrate")
	schema := flag.String("schema", "", "schema to migrate (default: search_path)")
	targetVersion := flag.Int("target-version", 0, "version to migrate to (0: newest for up, none for down)")
	line := flag.String("line", "main", "migration line")
	flag.Parse()
	if err := run(*databaseURL, *schema, *line, *targetVersion, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "rivermigrate:", err)
		os.Exit(1)
	}
}

func run(databaseURL, schema, line string, targetVersion int, command string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Line: line, Schema: schema})
	if err != nil {
		return err
	}
	switch command {
	case "up":
		res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: targetVersion})
		if err != nil {
			return err
		}
		for _, v := range res.Versions {
			fmt.Println("applied", v.Version)
		}
	case "down":
		target := targetVersion
		if target == 0 {
			target = -1
		}
		res, err := migrator.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: target})
		if err != nil {
			return err
		}
		for _, v := range res.Versions {
			fmt.Println("removed", v.Version)
		}
	case "list":
		versions, err := migrator.ExistingVersions(ctx)
		if err != nil {
			return err
		}
		for _, v := range versions {
			fmt.Println(v.Version)
		}
	default:
		return fmt.Errorf("unknown command %q (want up, down or list)", command)
	}
	return nil
}
