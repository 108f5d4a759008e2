// Command gendefault rebuilds the classifier's shipped default model from
// disaster_en.csv (CC BY 4.0) and the default keywords. Run it through
// `go generate ./classifier` from the repository root; the data must be in
// ../shared/data beside the repository (or set CITYBOT_DATA).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"citybot/classifier"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gendefault:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "model/default.model", "model file to write")
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
	t, err := classifier.ReadTableFile(path)
	if err != nil {
		return err
	}
	m, err := classifier.TrainDefault(context.Background(), t, nil)
	if err != nil {
		return err
	}
	if err := m.WriteFile(*out); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d bytes, %d topic features, %d urgency features, from %d rows\n",
		*out, st.Size(), m.Features(classifier.KindTopic), m.Features(classifier.KindUrgency), len(t.Rows))
	return nil
}
