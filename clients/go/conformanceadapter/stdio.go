package conformanceadapter

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
)

type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// response holds exactly one of Result and Error; a nil ID is written as null.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// Serve answers each request line of in with one line on out, until in closes
// (ADAPTER.md#transport). Lines are read whole: a request can exceed 1 MB.
func (s *Server) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	reader := bufio.NewReader(in)
	writer := bufio.NewWriter(out)
	for {
		line, err := reader.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if _, werr := writer.Write(append(s.respond(ctx, line), '\n')); werr != nil {
				return werr
			}
			if werr := writer.Flush(); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// respond answers one request line with the encoded response; errors are also logged.
func (s *Server) respond(ctx context.Context, line []byte) []byte {
	var req request
	answer := response{JSONRPC: "2.0"}
	switch err := json.Unmarshal(line, &req); {
	case err != nil && json.Valid(line):
		answer.Error = &Error{Code: CodeInvalidRequest, Message: err.Error()}
	case err != nil:
		answer.Error = &Error{Code: CodeParseError, Message: err.Error()}
	default:
		answer.ID = req.ID
		if req.JSONRPC != "2.0" || req.Method == "" {
			answer.Error = &Error{Code: CodeInvalidRequest, Message: "not a JSON-RPC 2.0 request"}
		} else {
			answer.Result, answer.Error = s.Handle(ctx, req.Method, req.Params)
		}
	}
	if answer.Error != nil {
		log.Printf("%s: %s", cmp.Or(req.Method, "request"), answer.Error.Message)
	}
	encoded, err := json.Marshal(answer)
	if err != nil {
		encoded, _ = json.Marshal(response{JSONRPC: "2.0", ID: answer.ID, Error: &Error{Code: CodeInternal, Message: err.Error()}})
	}
	return encoded
}
