// Command croncheck answers next-occurrence questions with robfig/cron v3 ParseStandard,
// the parser River Go uses for periodic job schedules, so tests can compare riverboat's
// cron implementation with it.
//
// Each stdin line is "SPEC<TAB>RFC3339 time"; each stdout line is the next occurrence in
// RFC 3339 (in the input's offset), "zero" when there is none, or "error MESSAGE".
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		spec, at, _ := strings.Cut(scanner.Text(), "\t")
		fmt.Println(answer(spec, at))
	}
}

func answer(spec, at string) string {
	after, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return "error bad time: " + err.Error()
	}
	schedule, err := cron.ParseStandard(spec)
	if err != nil {
		return "error " + err.Error()
	}
	next := schedule.Next(after)
	if next.IsZero() {
		return "zero"
	}
	return next.Format(time.RFC3339Nano)
}
