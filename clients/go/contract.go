package riverboat

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The contract's meta-schema: a copy of schema/json/job-args-contract.schema.json (go:embed
// cannot reach outside the module; a test keeps the copy equal to the original).
//
//go:embed schema/job-args-contract.schema.json
var contractMetaSchema []byte

const contractMetaSchemaURL = "https://riverboat.dev/schema/v1/job-args-contract.schema.json"

// KindContract is one kind's entry in a job-args contract.
type KindContract struct {
	// ArgsSchema is the JSON Schema of the kind's args. Its $schema picks the draft;
	// without one, draft 2020-12 applies.
	ArgsSchema json.RawMessage
	// InsertOpts are the kind's insert defaults, used for args types that have none of
	// their own (RawArgs, MapArgs); nil for none.
	InsertOpts *InsertOpts
}

// Contract is a job-args contract (spec/05-args-contract.md): for each kind, the JSON
// Schema its args must satisfy and its insert defaults. It is immutable once built.
type Contract struct {
	kinds map[string]*compiledKind
}

type compiledKind struct {
	schema     *jsonschema.Schema
	insertOpts *InsertOpts
}

// NewContract compiles a contract from its kinds; an args schema that is not a valid
// JSON Schema is a *ValidationError naming the kind.
func NewContract(kinds map[string]KindContract) (*Contract, error) {
	c := &Contract{kinds: make(map[string]*compiledKind, len(kinds))}
	for _, kindName := range slices.Sorted(maps.Keys(kinds)) {
		entry := kinds[kindName]
		if err := ValidateKind(kindName); err != nil {
			return nil, err
		}
		schema, err := compileArgsSchema(kindName, entry.ArgsSchema)
		if err != nil {
			return nil, err
		}
		c.kinds[kindName] = &compiledKind{schema: schema, insertOpts: entry.InsertOpts}
	}
	return c, nil
}

func compileArgsSchema(kindName string, schemaJSON json.RawMessage) (*jsonschema.Schema, error) {
	field := fmt.Sprintf("contract.kinds[%q].args_schema", kindName)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, invalid(field, "json", "not valid JSON: %v", err)
	}
	compiler := jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	// A contract is data shared between services; it must not make this process read
	// files or fetch URLs, so references outside the schema itself are refused.
	compiler.UseLoader(jsonschema.SchemeURLLoader{})
	location := "https://riverboat.invalid/contract/" + url.PathEscape(kindName) + ".json"
	if err := compiler.AddResource(location, doc); err != nil {
		return nil, invalid(field, "format", "%v", err)
	}
	schema, err := compiler.Compile(location)
	if err != nil {
		// The library explains over several lines; errors here are one line.
		return nil, invalid(field, "format", "not a valid JSON Schema: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	return schema, nil
}

// compiledMetaSchema is the contract document's own schema, compiled once.
var compiledMetaSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(contractMetaSchema))
	if err != nil {
		return nil, err
	}
	compiler := jsonschema.NewCompiler()
	if err := compiler.AddResource(contractMetaSchemaURL, doc); err != nil {
		return nil, err
	}
	return compiler.Compile(contractMetaSchemaURL)
})

// contractDocument is the JSON form of a contract (spec/05-args-contract.md#document).
type contractDocument struct {
	Kinds map[string]struct {
		ArgsSchema json.RawMessage  `json:"args_schema"`
		InsertOpts *contractOptions `json:"insert_opts"`
	} `json:"kinds"`
}

type contractOptions struct {
	Queue       string          `json:"queue"`
	Priority    int             `json:"priority"`
	MaxAttempts int             `json:"max_attempts"`
	ScheduledAt string          `json:"scheduled_at"`
	Pending     bool            `json:"pending"`
	Tags        []string        `json:"tags"`
	Metadata    json.RawMessage `json:"metadata"`
	UniqueOpts  *struct {
		ByArgs          json.RawMessage `json:"by_args"`
		ByPeriodSeconds float64         `json:"by_period_seconds"`
		ByQueue         bool            `json:"by_queue"`
		ByState         []JobState      `json:"by_state"`
		ExcludeKind     bool            `json:"exclude_kind"`
	} `json:"unique_opts"`
}

func (o *contractOptions) insertOpts(kindName string) (*InsertOpts, error) {
	opts := &InsertOpts{
		Queue: o.Queue, Priority: o.Priority, MaxAttempts: o.MaxAttempts, Pending: o.Pending,
		Tags: o.Tags, Metadata: o.Metadata,
	}
	if o.ScheduledAt != "" {
		at, err := time.Parse(time.RFC3339Nano, o.ScheduledAt)
		if err != nil {
			return nil, invalid("scheduled_at", "format", "kind %q: scheduled_at %q is not an RFC 3339 time", kindName, o.ScheduledAt)
		}
		opts.ScheduledAt = at
	}
	if u := o.UniqueOpts; u != nil {
		opts.UniqueOpts = UniqueOpts{
			ByPeriod:    time.Duration(u.ByPeriodSeconds * float64(time.Second)),
			ByQueue:     u.ByQueue,
			ByState:     u.ByState,
			ExcludeKind: u.ExcludeKind,
		}
		if len(u.ByArgs) > 0 && string(u.ByArgs) != "false" {
			if string(u.ByArgs) == "true" {
				opts.UniqueOpts.ByArgs = true
			} else if err := json.Unmarshal(u.ByArgs, &opts.UniqueOpts.ByArgsPaths); err != nil {
				return nil, invalid("unique_opts.by_args", "type", "kind %q: by_args must be a boolean or a list of paths", kindName)
			}
		}
	}
	return opts, nil
}

// ParseContract reads a contract document, checked against its meta-schema
// (schema/json/job-args-contract.schema.json). A violation is a *ValidationError whose
// message gives the JSON pointer of the offending value and the rule.
func ParseContract(document []byte) (*Contract, error) {
	meta, err := compiledMetaSchema()
	if err != nil {
		return nil, fmt.Errorf("riverboat: compiling the contract meta-schema: %w", err)
	}
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		return nil, invalid("contract", "json", "the contract is not valid JSON: %v", err)
	}
	if err := meta.Validate(value); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			return nil, err
		}
		leaf := mostRelevant(verr, value)
		keyword := leafKeyword(leaf.err)
		return nil, invalid("contract", "contract", "contract at JSON pointer %q: %s: %s",
			jsonPointer(leaf.location), keyword, describe(leaf.err))
	}
	var doc contractDocument
	if err := json.Unmarshal(document, &doc); err != nil {
		return nil, invalid("contract", "json", "%v", err)
	}
	kinds := make(map[string]KindContract, len(doc.Kinds))
	for kindName, entry := range doc.Kinds {
		kc := KindContract{ArgsSchema: entry.ArgsSchema}
		if entry.InsertOpts != nil {
			if kc.InsertOpts, err = entry.InsertOpts.insertOpts(kindName); err != nil {
				return nil, err
			}
		}
		kinds[kindName] = kc
	}
	return NewContract(kinds)
}

// LoadContract reads a contract document from a file.
func LoadContract(path string) (*Contract, error) {
	document, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseContract(document)
}

// Kinds returns the contract's kinds, sorted.
func (c *Contract) Kinds() []string {
	return slices.Sorted(maps.Keys(c.kinds))
}

// Has says whether the contract lists a kind.
func (c *Contract) Has(kindName string) bool {
	_, ok := c.kinds[kindName]
	return ok
}

// Check validates encoded args against their kind's schema: *ArgsContractError for args
// that break it. A contract covers only the kinds it lists; others pass unchecked
// (spec/05-args-contract.md#check).
func (c *Contract) Check(kindName string, encodedArgs []byte) error {
	entry, ok := c.kinds[kindName]
	if !ok {
		return nil
	}
	// Decoded with exact numbers from the very bytes that will be stored.
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(encodedArgs))
	if err != nil {
		return invalid("args", "json", "args of kind %q are not valid JSON: %v", kindName, err)
	}
	err = entry.schema.Validate(value)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	leaf := mostRelevant(verr, value)
	return &ArgsContractError{
		Kind:    kindName,
		Pointer: jsonPointer(leaf.location),
		Keyword: leafKeyword(leaf.err),
		Message: describe(leaf.err),
	}
}

// violation is one failed keyword and where in the instance it failed.
type violation struct {
	err      *jsonschema.ValidationError
	location []string
}

// mostRelevant picks one violation to report from the error tree of instance. Nodes
// that only group the failures below them (a schema, a $ref, allOf) are looked through;
// any other node is a failed keyword, reported as itself even when it has causes (anyOf,
// oneOf, contains, propertyNames explain themselves with their causes, which are not
// failures of the args). Among the failed keywords, the one highest in the args wins,
// then the first in schema order.
func mostRelevant(root *jsonschema.ValidationError, instance any) violation {
	var best *violation
	var walk func(e *jsonschema.ValidationError, parentLocation []string)
	walk = func(e *jsonschema.ValidationError, parentLocation []string) {
		location := e.InstanceLocation
		switch k := e.ErrorKind.(type) {
		case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
			if len(e.Causes) > 0 {
				for _, cause := range e.Causes {
					walk(cause, location)
				}
				return
			}
		case *kind.PropertyNames:
			location = findObjectWithProperty(instance, parentLocation, len(location), k.Property)
		case *kind.ContentSchema:
			location = parentLocation
		}
		if best == nil || len(location) < len(best.location) {
			best = &violation{err: e, location: location}
		}
	}
	walk(root, nil)
	return *best
}

// findObjectWithProperty works around jsonschema v6.0.3 (issues 258/269 upstream): it keeps
// a propertyNames error's location without copying it, so later validation overwrites the
// components, though not the length. The object is found again from what is still known:
// it lies depth levels down, below prefix (the location of an ancestor error, which is
// copied), and has the offending property. Candidates are tried in sorted key order; if
// none fits, the ancestor's location is the best answer left.
func findObjectWithProperty(instance any, prefix []string, depth int, property string) []string {
	value := instance
	for _, component := range prefix {
		value = child(value, component)
	}
	var found []string
	var search func(v any, path []string)
	search = func(v any, path []string) {
		if found != nil {
			return
		}
		if len(path) == depth {
			if obj, ok := v.(map[string]any); ok {
				if _, has := obj[property]; has {
					found = slices.Clone(path)
				}
			}
			return
		}
		switch v := v.(type) {
		case map[string]any:
			for _, key := range slices.Sorted(maps.Keys(v)) {
				search(v[key], append(path, key))
			}
		case []any:
			for i, item := range v {
				search(item, append(path, strconv.Itoa(i)))
			}
		}
	}
	if depth >= len(prefix) {
		search(value, slices.Clone(prefix))
	}
	if found == nil {
		return prefix
	}
	return found
}

// child is one step down an instance decoded by jsonschema.UnmarshalJSON.
func child(v any, component string) any {
	switch v := v.(type) {
	case map[string]any:
		return v[component]
	case []any:
		if i, err := strconv.Atoi(component); err == nil && i >= 0 && i < len(v) {
			return v[i]
		}
	}
	return nil
}

var englishPrinter = message.NewPrinter(language.English)

// describe says in words what one violation is, without the location (reported apart)
// or the keyword (which some of the library's messages begin with).
func describe(e *jsonschema.ValidationError) string {
	text := e.ErrorKind.LocalizedString(englishPrinter)
	return strings.TrimPrefix(text, leafKeyword(e)+": ")
}

func leafKeyword(e *jsonschema.ValidationError) string {
	if _, ok := e.ErrorKind.(*kind.FalseSchema); ok {
		return "false"
	}
	path := e.ErrorKind.KeywordPath()
	if len(path) == 0 {
		return "schema"
	}
	return path[len(path)-1]
}
