package riverboat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const shipOrderContract = `{
  "riverboat_contract": 1,
  "kinds": {
    "ship_order": {
      "args_schema": {
        "type": "object",
        "properties": {"order_id": {"type": "integer"}, "items": {"type": "array", "items": {"type": "string"}},
                       "address": {"type": "object", "properties": {"zip": {"type": "string"}}}},
        "required": ["order_id", "items"]
      },
      "insert_opts": {
        "queue": "shipping",
        "priority": 2,
        "tags": ["orders"],
        "unique_opts": {"by_args": ["order_id"], "by_period_seconds": 3600}
      }
    },
    "ping": {"args_schema": true}
  }
}`

// The embedded meta-schema is a copy; it must not drift from the repository's.
func TestContractMetaSchemaIsTheRepositorys(t *testing.T) {
	original, err := os.ReadFile(filepath.Join("..", "..", "schema", "json", "job-args-contract.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(original, contractMetaSchema) {
		t.Fatal("schema/job-args-contract.schema.json differs from ../../schema/json/job-args-contract.schema.json; copy it again")
	}
}

func TestParseContract(t *testing.T) {
	contract, err := ParseContract([]byte(shipOrderContract))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(contract.Kinds(), ","); got != "ping,ship_order" {
		t.Errorf("kinds %s", got)
	}
	opts := contract.kinds["ship_order"].insertOpts
	if opts.Queue != "shipping" || opts.Priority != 2 || opts.Tags[0] != "orders" ||
		opts.UniqueOpts.ByArgsPaths[0] != "order_id" || opts.UniqueOpts.ByPeriod != time.Hour {
		t.Errorf("insert_opts %+v", opts)
	}
}

func TestParseContractRejectsBadDocuments(t *testing.T) {
	cases := map[string]string{
		`{"riverboat_contract": 1, "kinds": {"k": {"args_schema": {}, "insert_opts": {"priority": 9}}}}`:                              `"/kinds/k/insert_opts/priority"`,
		`{"riverboat_contract": 2, "kinds": {}}`:                                                                                      `"/riverboat_contract"`,
		`{"riverboat_contract": 1, "kinds": {"k": {}}}`:                                                                               `"/kinds/k"`,
		`{"riverboat_contract": 1, "kinds": {"k": {"args_schema": {}, "insert_opts": {"metadata": {"river:x": 1}}}}}`:                 `"/kinds/k/insert_opts/metadata`,
		`{"riverboat_contract": 1, "kinds": {"k": {"args_schema": {}, "insert_opts": {"unique_opts": {"by_state": ["available"]}}}}}`: `"/kinds/k/insert_opts/unique_opts/by_state"`,
	}
	for doc, pointer := range cases {
		_, err := ParseContract([]byte(doc))
		var verr *ValidationError
		if !errors.As(err, &verr) || verr.Field != "contract" || verr.Rule != "contract" {
			t.Fatalf("%s: want a contract/contract *ValidationError, got %v", doc, err)
		}
		if !strings.Contains(err.Error(), "JSON pointer "+pointer) {
			t.Errorf("%s: %v does not name pointer %s", doc, err, pointer)
		}
	}
	_, err := ParseContract([]byte(`{"riverboat_contract": 1, "kinds": {"k": {"args_schema": {"type": "no-such-type"}}}}`))
	assertValidation(t, err, `contract.kinds["k"].args_schema`, "format")
	_, err = NewContract(map[string]KindContract{"k": {ArgsSchema: json.RawMessage(`{"$ref": "file:///etc/passwd"}`)}})
	if err == nil {
		t.Error("a contract must not load files")
	}
}

func TestContractCheck(t *testing.T) {
	contract, err := ParseContract([]byte(shipOrderContract))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args             string
		pointer, keyword string
	}{
		{`{"order_id": 1, "items": ["a", 2]}`, "/items/1", "type"},
		{`{"order_id": "1", "items": []}`, "/order_id", "type"},
		{`{"order_id": 1, "items": [], "address": {"zip": 1}}`, "/address/zip", "type"},
		{`{"items": []}`, "", "required"},
		// The violation highest in the args is reported first.
		{`{"items": [1]}`, "", "required"},
	}
	for _, tc := range cases {
		err := contract.Check("ship_order", []byte(tc.args))
		var cerr *ArgsContractError
		if !errors.As(err, &cerr) {
			t.Fatalf("%s: want *ArgsContractError, got %v", tc.args, err)
		}
		if cerr.Kind != "ship_order" || cerr.Pointer != tc.pointer || cerr.Keyword != tc.keyword {
			t.Errorf("%s: got %q %q %q", tc.args, cerr.Kind, cerr.Pointer, cerr.Keyword)
		}
		if !strings.Contains(err.Error(), "ship_order") || !strings.Contains(err.Error(), `"`+tc.pointer+`"`) {
			t.Errorf("message %q names neither kind nor pointer", err)
		}
	}
	// Integers beyond float64 are checked exactly.
	if err := contract.Check("ship_order", []byte(`{"order_id": 18446744073709551617, "items": []}`)); err != nil {
		t.Errorf("a big integer is an integer: %v", err)
	}
	// A contract covers only the kinds it lists.
	if err := contract.Check("other", []byte(`{"anything": 1}`)); err != nil {
		t.Errorf("a kind outside the contract is not checked, got %v", err)
	}
}

func TestClientWithContract(t *testing.T) {
	contract, err := ParseContract([]byte(shipOrderContract))
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, &Config{Contract: contract})
	ctx := context.Background()
	_, err = c.InsertMany(ctx, []InsertManyParams{
		{Args: RawArgs{JobKind: "ship_order", JSON: json.RawMessage(`{"order_id": 1, "items": []}`)}},
		{Args: RawArgs{JobKind: "ship_order", JSON: json.RawMessage(`{"order_id": 2, "items": [false]}`)}},
	})
	var cerr *ArgsContractError
	if !errors.As(err, &cerr) || cerr.Pointer != "/items/0" {
		t.Fatalf("want the batch rejected at /items/0, got %v", err)
	}
	if _, err := c.resolve(emailArgs{}, nil, vectorNow); err != nil {
		t.Fatalf("a kind outside the contract inserts unchecked, got %v", err)
	}
	strict := newTestClient(t, &Config{Contract: contract, StrictContract: true})
	var unknown *UnknownKindError
	if _, err := strict.Insert(ctx, emailArgs{}, nil); !errors.As(err, &unknown) || unknown.Kind != "email_send" {
		t.Fatalf("strict mode: want *UnknownKindError, got %v", err)
	}
	// Raw args of a contracted kind take the contract's insert defaults.
	r, err := c.resolve(RawArgs{JobKind: "ship_order", JSON: json.RawMessage(`{"order_id": 7, "items": []}`)}, nil, vectorNow)
	if err != nil {
		t.Fatal(err)
	}
	if r.queue != "shipping" || r.priority != 2 || r.tags[0] != "orders" || r.uniqueKey == nil {
		t.Errorf("contract defaults not applied: %+v", r)
	}
	want, _ := uniqueKeyString(RawArgs{JobKind: "ship_order"}, r.args, "shipping",
		UniqueOpts{ByArgsPaths: []string{"order_id"}, ByPeriod: time.Hour}, time.Time{}, vectorNow)
	if want != `&kind=ship_order&args={"order_id":7}&period=2026-01-02T03:00:00Z` {
		t.Errorf("key string %q", want)
	}
}

// propertyNames failures point at the object holding the bad key, though jsonschema
// v6.0.3 loses that location (see findObjectWithProperty).
func TestContractPropertyNamesPointer(t *testing.T) {
	contract, err := NewContract(map[string]KindContract{"k": {ArgsSchema: json.RawMessage(`{
		"properties": {
			"a": {"properties": {"b": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}}},
			"items": {"type": "array", "items": {"propertyNames": {"pattern": "^[a-z]+$"}}},
			"m": {"type": "object"}, "n": {"type": "object"}, "o": {"type": "object"}
		}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		`{"m": {"x": {"y": 1}}, "a": {"b": {"BAD": 1}}, "n": {"p": {"q": {}}}, "o": {"r": [1]}}`: "/a/b",
		`{"items": [{"BAD": 1}, {"ok": 1}], "m": {"x": {"y": {"z": 1}}}}`:                        "/items/0",
	}
	for range 20 { // map order varies, and with it which sibling overwrites the location
		for args, pointer := range cases {
			var cerr *ArgsContractError
			if err := contract.Check("k", []byte(args)); !errors.As(err, &cerr) || cerr.Pointer != pointer || cerr.Keyword != "propertyNames" {
				t.Fatalf("%s: want propertyNames at %s, got %v", args, pointer, err)
			}
		}
	}
}
