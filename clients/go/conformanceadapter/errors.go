// Package conformanceadapter is the protocol half of a conformance adapter
// (conformance/ADAPTER.md): the JSON-RPC 2.0 stdio loop, the method dispatch and
// transaction handles, the decoding of params, the normalized job and the error table.
// An adapter supplies only what its client does: a Client (insert, unique_key) and any
// methods beyond the insert-only-v1 set. The riverboat Go client's adapter and River Go's
// (conformance/adapters/river-go) share it, so it depends on nothing but pgx.
package conformanceadapter

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// The error codes of ADAPTER.md#errors.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32000
	CodeNotFound       = -32001
	CodeRejected       = -32002
	CodeDatabase       = -32003
	CodeUnsupported    = -32004
)

// Error is an error response.
type Error struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Invalid is a -32602 naming the rejected field and the rule it broke.
func Invalid(field, rule, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParams, Message: fmt.Sprintf(format, args...), Data: map[string]any{"field": field, "rule": rule}}
}

// BadParams is a -32602 for params of the wrong shape, which name no field.
func BadParams(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

// Unsupported is a -32004: a valid request the client cannot express.
func Unsupported(message string) *Error {
	return &Error{Code: CodeUnsupported, Message: message}
}

// Classify answers err with the *Error it wraps, else as a database error (-32003 with
// its SQLSTATE) when PostgreSQL reported it, else with code. Adapters map their client's
// own errors first and hand the rest here.
func Classify(err error, code int) *Error {
	var rpcErr *Error
	if errors.As(err, &rpcErr) {
		return rpcErr
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return &Error{Code: CodeDatabase, Message: err.Error(), Data: map[string]any{"sqlstate": pgErr.Code}}
	}
	return &Error{Code: code, Message: err.Error()}
}
