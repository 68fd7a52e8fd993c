package main

import (
	"errors"

	"riverboat.dev/go/riverboat"
	"riverboat.dev/go/riverboat/conformanceadapter"
)

// classify maps the client's errors to the adapter's error table.
func classify(err error) *conformanceadapter.Error {
	var (
		validation *riverboat.ValidationError
		contract   *riverboat.ArgsContractError
		unknown    *riverboat.UnknownKindError
	)
	switch {
	case errors.As(err, &validation):
		return conformanceadapter.Invalid(validation.Field, validation.Rule, "%s", err.Error())
	case errors.As(err, &contract):
		return &conformanceadapter.Error{Code: conformanceadapter.CodeRejected, Message: err.Error(),
			Data: map[string]any{"reason": "contract_violation", "pointer": contract.Pointer, "rule": contract.Keyword}}
	case errors.As(err, &unknown):
		return &conformanceadapter.Error{Code: conformanceadapter.CodeRejected, Message: err.Error(),
			Data: map[string]any{"reason": "unknown_kind"}}
	default:
		return conformanceadapter.Classify(err, conformanceadapter.CodeInternal)
	}
}

// insertManyParams maps one job of the protocol onto the client's API. The client takes
// River Go's convention that a zero priority, max_attempts or queue means "default", so
// an explicit zero or empty value is checked here with the client's own rules.
func insertManyParams(job *conformanceadapter.Insert) (riverboat.InsertManyParams, *conformanceadapter.Error) {
	// The args go to the client exactly as the request holds them (key order included),
	// which is what the unique key must see.
	args := riverboat.RawArgs{JobKind: job.Kind, JSON: job.Args}
	opts := &riverboat.InsertOpts{ScheduledAt: job.ScheduledAt, Pending: job.Pending, Tags: job.Tags, Metadata: job.Metadata}
	if job.Queue != nil {
		if err := riverboat.ValidateQueue(*job.Queue); err != nil {
			return riverboat.InsertManyParams{}, classify(err)
		}
		opts.Queue = *job.Queue
	}
	if job.Priority != nil {
		if err := riverboat.ValidatePriority(*job.Priority); err != nil {
			return riverboat.InsertManyParams{}, classify(err)
		}
		opts.Priority = *job.Priority
	}
	if job.MaxAttempts != nil {
		if err := riverboat.ValidateMaxAttempts(*job.MaxAttempts); err != nil {
			return riverboat.InsertManyParams{}, classify(err)
		}
		opts.MaxAttempts = *job.MaxAttempts
	}
	if job.Unique != nil {
		opts.UniqueOpts = uniqueOpts(*job.Unique)
	}
	return riverboat.InsertManyParams{Args: args, InsertOpts: opts}, nil
}

// uniqueOpts maps the protocol's unique options onto the client's.
func uniqueOpts(unique conformanceadapter.Unique) riverboat.UniqueOpts {
	opts := riverboat.UniqueOpts{
		ByArgs:      unique.ByArgs,
		ByArgsPaths: unique.ByArgsPaths,
		ByPeriod:    unique.ByPeriod,
		ByQueue:     unique.ByQueue,
		ExcludeKind: unique.ExcludeKind,
	}
	if unique.ByState != nil {
		opts.ByState = make([]riverboat.JobState, len(unique.ByState))
		for i, s := range unique.ByState {
			opts.ByState[i] = riverboat.JobState(s)
		}
	}
	return opts
}
