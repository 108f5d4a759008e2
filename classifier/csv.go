package classifier

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"citybot"
)

// Table is a CSV file with a header row, as `citybot train` and `citybot
// eval` read it: a `text` column, label columns, and any others.
type Table struct {
	Header []string
	Rows   [][]string // each row has len(Header) fields
}

// ReadTable reads RFC 4180 CSV with a header row that has a `text` column.
// Rows with fewer fields are padded with empty fields, extra fields are
// dropped. It returns an error wrapping citybot.ErrInvalid, naming the
// line, for malformed CSV or a missing text column.
func ReadTable(r io.Reader) (*Table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("classifier: read csv: empty file: %w", citybot.ErrInvalid)
		}
		return nil, fmt.Errorf("classifier: read csv header: %v: %w", err, citybot.ErrInvalid)
	}
	if len(header) > 0 {
		header[0] = string(bytes.TrimPrefix([]byte(header[0]), []byte("\ufeff")))
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	t := &Table{Header: header}
	if t.Col("text") < 0 {
		return nil, fmt.Errorf("classifier: read csv: no \"text\" column in header %q: %w", header, citybot.ErrInvalid)
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("classifier: read csv: %v: %w", err, citybot.ErrInvalid)
		}
		row := make([]string, len(header))
		copy(row, rec)
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// Col returns the index of the named column, or -1.
func (t *Table) Col(name string) int { return slices.Index(t.Header, name) }

// Column returns the values of the named column, or nil when absent.
func (t *Table) Column(name string) []string {
	c := t.Col(name)
	if c < 0 {
		return nil
	}
	out := make([]string, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = r[c]
	}
	return out
}

// Examples pairs the text column with the label column. Rows with an
// empty label are left out. It returns nil when the column is absent.
func (t *Table) Examples(label string) []Example {
	tc, lc := t.Col("text"), t.Col(label)
	if lc < 0 {
		return nil
	}
	var out []Example
	for _, r := range t.Rows {
		if l := strings.TrimSpace(r[lc]); l != "" {
			out = append(out, Example{Text: r[tc], Label: l})
		}
	}
	return out
}

// UrgencyProxy derives an urgency label for a row of disaster_en.csv,
// which has no urgency column. It is a documented judgement, used to
// train the shipped urgency head and to measure ranking:
//   - critical: request = 1 and a category among death, search_and_rescue,
//     medical_help, fire, floods, buildings, missing_people;
//   - high: any other request = 1 (water, food, shelter, electricity …);
//   - low: the source marks the message unrelated, or an offer of help;
//   - normal: everything else.
func UrgencyProxy(sourceCategories, request, offer string) string {
	if request == "1" {
		if LifeThreat(sourceCategories) {
			return string(citybot.UrgencyCritical)
		}
		return string(citybot.UrgencyHigh)
	}
	if offer == "1" || slices.Contains(strings.Split(sourceCategories, ";"), "unrelated") {
		return string(citybot.UrgencyLow)
	}
	return string(citybot.UrgencyNormal)
}

// LifeThreat reports whether a row's source categories (";"-separated)
// name a threat to life, as UrgencyProxy reads them: death,
// search_and_rescue, medical_help, fire, floods, buildings or
// missing_people.
func LifeThreat(sourceCategories string) bool {
	for _, c := range strings.Split(sourceCategories, ";") {
		switch strings.TrimSpace(c) {
		case "death", "search_and_rescue", "medical_help", "fire", "floods", "buildings", "missing_people":
			return true
		}
	}
	return false
}
