// Command genshipped writes the compact training table that serve's
// retraining learns from besides the officers' corrections: the rows of
// disaster_en.csv (Robert Munro's disaster response messages, CC BY 4.0;
// attribution in README.md) the shipped model was trained on, with only
// the columns training reads (text, topic, source_categories, request,
// offer, genre), gzip-compressed. Run it through `go generate
// ./cmd/citybot` from the repository root; the data must be in
// ../shared/data beside the repository (or set CITYBOT_DATA). Nothing
// from any other file (newport_en.csv is non-commercial) goes in.
package main

import (
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"citybot/classifier"
)

// columns kept: what classifier.TrainDefault and UrgencyExamples read.
var columns = []string{"text", "topic", "source_categories", "request", "offer", "genre"}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "genshipped:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "shipped/disaster_train.csv.gz", "file to write")
	data := flag.String("data", "", "disaster_en.csv (default: found in shared/data above this directory)")
	flag.Parse()
	path := *data
	if path == "" {
		dir, err := classifier.FindSharedData(".")
		if err != nil {
			return err
		}
		path = filepath.Join(dir, "disaster_en.csv")
	}
	if filepath.Base(path) != "disaster_en.csv" {
		// Only the licence-clean source may be embedded.
		return fmt.Errorf("%s: only disaster_en.csv (CC BY 4.0) may be embedded", path)
	}
	t, err := classifier.ReadTableFile(path)
	if err != nil {
		return err
	}
	idx := make([]int, len(columns))
	for i, c := range columns {
		if idx[i] = t.Col(c); idx[i] < 0 {
			return fmt.Errorf("%s: no %q column", path, c)
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		f.Close()
		return err
	}
	cw := csv.NewWriter(zw)
	if err := cw.Write(columns); err != nil {
		f.Close()
		return err
	}
	rec := make([]string, len(columns))
	for _, r := range t.Rows {
		for i, c := range idx {
			rec[i] = r[c]
		}
		if err := cw.Write(rec); err != nil {
			f.Close()
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d bytes, %d rows from %s\n", *out, st.Size(), len(t.Rows), path)
	return nil
}
