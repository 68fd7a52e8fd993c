// Command gojson is the oracle for riverboat's Go-compatible JSON encoding: it reads one
// JSON value per stdin line and writes, one per line, what encoding/json emits for the
// equivalent Go value. Objects keep their member order (as a Go struct would), numbers
// with '.', 'e' or 'E' become float64 and other numbers *big.Int. A value Go cannot
// represent produces a line starting with "ERROR: ".
//
// With -raw, each line is pre-encoded JSON text, and the output is what json.Marshal makes
// of it as a json.RawMessage (a json.Marshaler): River Go's handling of pre-encoded args.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
)

func main() {
	raw := flag.Bool("raw", false, "marshal each line as a json.RawMessage")
	flag.Parse()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<30)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		if *raw {
			encoded, err := json.Marshal(json.RawMessage(in.Bytes()))
			if err != nil {
				fmt.Fprintln(out, "ERROR: "+err.Error())
				continue
			}
			out.Write(encoded)
			out.WriteByte('\n')
			continue
		}
		var buf bytes.Buffer
		dec := json.NewDecoder(bytes.NewReader(in.Bytes()))
		dec.UseNumber()
		if err := writeValue(&buf, dec); err != nil {
			fmt.Fprintln(out, "ERROR: "+err.Error())
			continue
		}
		out.Write(buf.Bytes())
		out.WriteByte('\n')
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "gojson:", err)
		os.Exit(1)
	}
}

func writeValue(buf *bytes.Buffer, dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	return writeToken(buf, dec, tok)
}

func writeToken(buf *bytes.Buffer, dec *json.Decoder, tok json.Token) error {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			buf.WriteByte('{')
			for first := true; dec.More(); first = false {
				if !first {
					buf.WriteByte(',')
				}
				key, err := dec.Token()
				if err != nil {
					return err
				}
				if err := writeMarshal(buf, key); err != nil {
					return err
				}
				buf.WriteByte(':')
				if err := writeValue(buf, dec); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			buf.WriteByte('}')
		case '[':
			buf.WriteByte('[')
			for first := true; dec.More(); first = false {
				if !first {
					buf.WriteByte(',')
				}
				if err := writeValue(buf, dec); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			buf.WriteByte(']')
		default:
			return fmt.Errorf("unexpected delimiter %v", t)
		}
		return nil
	case json.Number:
		text := string(t)
		if strings.ContainsAny(text, ".eE") {
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return err
			}
			return writeMarshal(buf, f)
		}
		n, ok := new(big.Int).SetString(text, 10)
		if !ok {
			return errors.New("bad integer " + text)
		}
		return writeMarshal(buf, n)
	case string, bool, nil:
		return writeMarshal(buf, t)
	}
	return fmt.Errorf("unexpected token %v", tok)
}

func writeMarshal(buf *bytes.Buffer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}
