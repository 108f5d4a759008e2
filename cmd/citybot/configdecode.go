package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// typeError matches the decoder's error for a value of the wrong type or
// one a field's UnmarshalText refused: `toml: line 3 (last key
// "outbox.workers"): incompatible types: …`.
var typeError = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// maxBadValues bounds how many values of the wrong type one decode skips.
const maxBadValues = 200

// decodeSkippingBad decodes data into cfg, and when a value has the wrong
// type, reports it (with the line where its key is written), takes that
// key out and decodes again, so that every such value is listed and the
// others still decoded; a skipped key keeps its default. It returns the
// metadata of the last decode, the problems in file order, and err only
// when data is not valid TOML (or a value error the decoder does not
// name).
func decodeSkippingBad(data []byte, cfg *Config) (toml.MetaData, []lineProblem, error) {
	var problems []lineProblem
	src := data
	var raw map[string]any
	for range maxBadValues {
		try := *cfg
		md, err := toml.NewDecoder(bytes.NewReader(src)).Decode(&try)
		if err == nil {
			*cfg = try
			return md, problems, nil
		}
		var perr toml.ParseError
		if errors.As(err, &perr) && len(problems) == 0 {
			// The decoder also reports a value a field's UnmarshalText
			// refused as a ParseError, first or not depending on the
			// order it walks the file's tables (a map's): only a file
			// that does not parse is not TOML.
			if _, rerr := toml.Decode(string(data), &raw); rerr != nil {
				return md, nil, syntaxError(perr) // not TOML: nothing to go on
			}
		}
		m := typeError.FindStringSubmatch(err.Error())
		if m == nil {
			return md, nil, err
		}
		key := m[2]
		line := keyLine(data, toml.Key(strings.Split(key, ".")))
		if line == 0 && len(problems) == 0 {
			line, _ = strconv.Atoi(m[1]) // the first decode reads data itself
		}
		problems = append(problems, lineProblem{line: line, err: badValue(line, key, m[3])})
		if raw == nil {
			if _, err := toml.Decode(string(data), &raw); err != nil {
				return md, nil, err
			}
		}
		if !deleteKey(raw, strings.Split(key, ".")) {
			return md, problems, nil // cannot take it out: report what was found
		}
		var b bytes.Buffer
		if err := toml.NewEncoder(&b).Encode(raw); err != nil {
			return md, nil, fmt.Errorf("re-encode after %s: %w", key, err)
		}
		src = b.Bytes()
	}
	return toml.MetaData{}, problems, nil
}

// syntaxError words a TOML syntax error with its line.
func syntaxError(perr toml.ParseError) error {
	if perr.LastKey != "" {
		return fmt.Errorf("line %d: %s: %s", perr.Position.Line, perr.LastKey, perr.Message)
	}
	return fmt.Errorf("line %d: %s", perr.Position.Line, perr.Message)
}

// typeWords matches the decoder's wording of a type mismatch.
var typeWords = regexp.MustCompile(`^TOML value has type (\S+); destination has type (\S+)$`)

// kindName says a TOML or Go type in plain words.
func kindName(t string) string {
	switch {
	case t == "string":
		return "text"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), t == "integer":
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"), t == "array", t == "slice":
		return "a list"
	case strings.HasPrefix(t, "map"), t == "struct", t == "table":
		return "a section"
	}
	return t
}

// badValue words a value of the wrong type.
func badValue(line int, key, msg string) error {
	msg = strings.TrimPrefix(msg, "incompatible types: ")
	if m := typeWords.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("the value is %s, but %s is wanted", kindName(m[1]), kindName(m[2]))
	}
	if line > 0 {
		return fmt.Errorf("line %d: %s: %s", line, key, msg)
	}
	return fmt.Errorf("%s: %s", key, msg)
}

type lineProblem struct {
	line int
	err  error
}

// sortProblems returns the errors by line, those with no line last.
func sortProblems(ps []lineProblem) []error {
	slices.SortStableFunc(ps, func(a, b lineProblem) int {
		switch {
		case a.line == b.line:
			return 0
		case a.line == 0:
			return 1
		case b.line == 0:
			return -1
		}
		return a.line - b.line
	})
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p.err
	}
	return out
}

// deleteKey removes the key at path from a decoded TOML document; in an
// array of tables, from each table. It reports whether anything was
// removed.
func deleteKey(doc any, path []string) bool {
	switch v := doc.(type) {
	case map[string]any:
		if len(path) == 1 {
			_, ok := v[path[0]]
			delete(v, path[0])
			return ok
		}
		next, ok := v[path[0]]
		return ok && deleteKey(next, path[1:])
	case []map[string]any:
		found := false
		for _, t := range v {
			if deleteKey(t, path) {
				found = true
			}
		}
		return found
	case []any:
		found := false
		for _, t := range v {
			if deleteKey(t, path) {
				found = true
			}
		}
		return found
	}
	return false
}
