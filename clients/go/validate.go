package riverboat

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"
)

const (
	kindMaxLength       = 127 // river_job's CHECK on kind
	queueMaxLength      = 64
	tagMaxLength        = 255
	maxAttemptsMax      = 32767 // max_attempts is a smallint
	schemaMaxLength     = 46    // keeps "<schema>.river_leadership" within 63-byte channel names
	reservedMetadataKey = "river:"
)

var (
	// River's queue names, in the unambiguous form of spec/03-insert.md#queue-names.
	queuePattern = regexp.MustCompile(`^[a-z0-9]+(?:[_|-][a-z0-9]+)*$`)
	// River's tag rule; Go's \w is ASCII-only.
	tagPattern    = regexp.MustCompile(`\A\w[\w\-]+\w\z`)
	schemaPattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// ValidateKind checks a kind: 1 to 127 characters.
func ValidateKind(kind string) error {
	if n := utf8.RuneCountInString(kind); n < 1 || n > kindMaxLength {
		return invalid("kind", "length", "kind must be 1 to %d characters, got %d", kindMaxLength, n)
	}
	return nil
}

// ValidateQueue applies River's queue-name rule.
func ValidateQueue(queue string) error {
	if len(queue) < 1 || len(queue) > queueMaxLength {
		return invalid("queue", "length", "queue must be 1 to %d characters, got %d", queueMaxLength, len(queue))
	}
	if !queuePattern.MatchString(queue) {
		return invalid("queue", "pattern",
			"queue %q must be lowercase letters and digits with single _, - or | separators", queue)
	}
	return nil
}

// ValidatePriority checks a priority: 1 to 4.
func ValidatePriority(priority int) error {
	if priority < 1 || priority > 4 {
		return invalid("priority", "range", "priority must be 1 to 4, got %d", priority)
	}
	return nil
}

// ValidateMaxAttempts checks max_attempts: 1 to 32767.
func ValidateMaxAttempts(maxAttempts int) error {
	if maxAttempts < 1 || maxAttempts > maxAttemptsMax {
		return invalid("max_attempts", "range", "max_attempts must be 1 to %d, got %d", maxAttemptsMax, maxAttempts)
	}
	return nil
}

// ValidateTags applies River's tag rule to each tag.
func ValidateTags(tags []string) error {
	for _, tag := range tags {
		if len(tag) > tagMaxLength {
			return invalid("tags", "length", "tag %q is longer than %d characters", preview([]byte(tag)), tagMaxLength)
		}
		if !tagPattern.MatchString(tag) {
			return invalid("tags", "pattern",
				"tag %q must be 3 or more ASCII letters, digits or _, with - allowed inside (no commas or spaces)", tag)
		}
	}
	return nil
}

// encodeMetadata checks that metadata is a JSON object without reserved keys and returns
// the text to store ("{}" when unset).
func encodeMetadata(metadata json.RawMessage) (string, error) {
	if len(metadata) == 0 {
		return "{}", nil
	}
	var compacted bytes.Buffer
	if err := json.Compact(&compacted, metadata); err != nil {
		return "", invalid("metadata", "json", "metadata is not valid JSON: %v", err)
	}
	members, ok := objectMembers(compacted.Bytes())
	if !ok {
		return "", invalid("metadata", "type", "metadata must be a JSON object, got %s", preview(compacted.Bytes()))
	}
	if err := rejectNUL("metadata", compacted.Bytes()); err != nil {
		return "", err
	}
	for _, m := range members {
		if strings.HasPrefix(m.key, reservedMetadataKey) {
			return "", invalid("metadata", "reserved", "metadata key %q: keys beginning %q are reserved for River", m.key, reservedMetadataKey)
		}
	}
	return compacted.String(), nil
}

// rejectNUL refuses valid JSON text holding U+0000 in any string or key, which jsonb
// cannot store (spec/03-insert.md#nul). Encoded JSON writes U+0000 only as the escape
// \u0000, found by walking the escapes of each string.
func rejectNUL(field string, encoded []byte) error {
	inString := false
	for i := 0; i < len(encoded); i++ {
		switch c := encoded[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if bytes.HasPrefix(encoded[i+1:], []byte("u0000")) {
				return invalid(field, "json", "%s must not hold U+0000, which PostgreSQL's jsonb cannot store", field)
			}
			i++
		}
	}
	return nil
}

// ValidateSchemaName applies the protocol's rule for a custom schema
// (spec/01-schema.md#custom-schemas).
func ValidateSchemaName(schema string) error {
	if !schemaPattern.MatchString(schema) {
		return invalid("schema", "pattern", "schema %q must match ^[a-zA-Z_][a-zA-Z0-9_]*$", schema)
	}
	if len(schema) > schemaMaxLength {
		return invalid("schema", "length", "schema %q is longer than %d characters", schema, schemaMaxLength)
	}
	return nil
}

// quoteIdentifier double-quotes an already validated identifier.
func quoteIdentifier(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
