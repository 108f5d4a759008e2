package main

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"

	"citybot/classifier"
)

// shippedTrainingGz is the table the shipped model learnt from: the rows of
// disaster_en.csv (Robert Munro's disaster response messages, CC BY 4.0;
// attribution in README.md) with only the columns training reads. Serve's
// retraining learns from it besides the officers' corrections. Rebuild it
// with `go generate ./cmd/citybot` (needs ../shared/data).
//
//go:generate go run ./internal/genshipped -out shipped/disaster_train.csv.gz
//go:embed shipped/disaster_train.csv.gz
var shippedTrainingGz []byte

// shippedTraining decodes the embedded training table (a few tens of
// milliseconds; call it when a retraining needs it).
func shippedTraining() (*classifier.Table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(shippedTrainingGz))
	if err != nil {
		return nil, fmt.Errorf("shipped training data: %w", err)
	}
	defer zr.Close()
	t, err := classifier.ReadTable(zr)
	if err != nil {
		return nil, fmt.Errorf("shipped training data: %w", err)
	}
	return t, nil
}
