package riverboat_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"riverboat.dev/go/riverboat"
)

type SendEmail struct {
	To string `json:"to" river:"unique"`
}

func (SendEmail) Kind() string { return "send_email" }

// The README's quickstart; compiled by go test (it has no output to check, so it is not run).
func ExampleClient_Insert() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://localhost/app")
	if err != nil {
		log.Fatal(err)
	}
	client, err := riverboat.NewClient(pool, nil)
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.Insert(ctx, SendEmail{To: "a@example.com"}, &riverboat.InsertOpts{
		Queue:      "mail",
		Priority:   2,
		UniqueOpts: riverboat.UniqueOpts{ByArgs: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Println(res.Job.ID, res.UniqueSkippedAsDuplicate)

	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	raw := riverboat.RawArgs{JobKind: "resize_image", JSON: []byte(`{"id": 7}`)}
	if _, err := client.InsertTx(ctx, tx, raw, nil); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil { // the job and its notification appear now
		log.Fatal(err)
	}
}
