package classifier

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultModelName names the shipped model in Classification.Model.
const DefaultModelName = "citybot-default-2"

// DefaultTopicTrust is the shipped topic head's trust. It learns from a
// city's everyday messages (the city corpus, CityTopicExamples) besides
// disaster messages, so it is trusted as a city's own head: the keywords
// of a topic it has data for fade (0.4, when it knew disaster messages
// only; README "The shipped model").
const DefaultTopicTrust = 1.0

// DefaultUnknownTrust weighs the shipped topic head's prior against the
// one default topic it has no data for, corruption (TrainOptions.
// UnknownTrust): as low as the whole head weighed before the corpus, so
// that "Corruption and embezzlement at city hall" or "The inspector wanted
// a bribe" are named by their keywords.
const DefaultUnknownTrust = 0.4

// DefaultUrgencyTrust is the shipped urgency head's trust: low, so that
// the cue rules order a city's messages by level and the disaster-trained
// head only orders them within a level (see urgencyResult).
const DefaultUrgencyTrust = 0.4

// TrainDefault builds the shipped default model from the rows of
// disaster_en.csv (CC BY 4.0), the city corpus and the default topics'
// keywords: a topic head on the `topic` column and the corpus, an urgency
// head on UrgencyProxy. The result depends only on its inputs.
func TrainDefault(ctx context.Context, disaster *Table, progress func(done, total int)) (*Model, error) {
	for _, col := range []string{"topic", "source_categories", "request", "offer"} {
		if disaster.Col(col) < 0 {
			return nil, fmt.Errorf("classifier: train default: no %q column", col)
		}
	}
	city, err := CityTopicExamples()
	if err != nil {
		return nil, err
	}
	topicM, err := Train(ctx, KindTopic, append(disaster.Examples("topic"), city...), TrainOptions{
		Name: DefaultModelName, Topics: DefaultOptions().Topics, Trust: DefaultTopicTrust,
		UnknownTrust: DefaultUnknownTrust, Progress: progress})
	if err != nil {
		return nil, err
	}
	urg, err := Train(ctx, KindUrgency, UrgencyExamples(disaster), TrainOptions{
		Name: DefaultModelName, Trust: DefaultUrgencyTrust, Progress: progress})
	if err != nil {
		return nil, err
	}
	// The factorised urgency estimate (urgencyResult): whether a
	// message asks for help, and whether it speaks of a threat to life.
	req, err := Train(ctx, KindRequest, RequestExamples(disaster), TrainOptions{
		Name: DefaultModelName, Trust: DefaultUrgencyTrust, Progress: progress})
	if err != nil {
		return nil, err
	}
	life, err := Train(ctx, KindLifeThreat, LifeThreatExamples(disaster), TrainOptions{
		Name: DefaultModelName, Trust: DefaultUrgencyTrust, Progress: progress})
	if err != nil {
		return nil, err
	}
	return topicM.WithFallback(urg).WithFallback(req).WithFallback(life), nil
}

// RequestExamples pairs the text of each row of a disaster_en.csv table
// with its request flag ("1" or "0"), for a KindRequest head.
func RequestExamples(disaster *Table) []Example {
	tc, rc := disaster.Col("text"), disaster.Col("request")
	if tc < 0 || rc < 0 {
		return nil
	}
	out := make([]Example, 0, len(disaster.Rows))
	for _, r := range disaster.Rows {
		l := "0"
		if strings.TrimSpace(r[rc]) == "1" {
			l = "1"
		}
		out = append(out, Example{Text: r[tc], Label: l})
	}
	return out
}

// LifeThreatExamples pairs the text of each row of a disaster_en.csv
// table with "1" when its source categories name a threat to life
// (LifeThreat), else "0", for a KindLifeThreat head.
func LifeThreatExamples(disaster *Table) []Example {
	tc, cc := disaster.Col("text"), disaster.Col("source_categories")
	if tc < 0 || cc < 0 {
		return nil
	}
	out := make([]Example, 0, len(disaster.Rows))
	for _, r := range disaster.Rows {
		l := "0"
		if LifeThreat(r[cc]) {
			l = "1"
		}
		out = append(out, Example{Text: r[tc], Label: l})
	}
	return out
}

// UrgencyExamples pairs the text of each row of a disaster_en.csv table
// with its UrgencyProxy label.
func UrgencyExamples(disaster *Table) []Example {
	tc, cc, rc, oc := disaster.Col("text"), disaster.Col("source_categories"), disaster.Col("request"), disaster.Col("offer")
	if tc < 0 || cc < 0 || rc < 0 || oc < 0 {
		return nil
	}
	out := make([]Example, 0, len(disaster.Rows))
	for _, r := range disaster.Rows {
		out = append(out, Example{Text: r[tc], Label: UrgencyProxy(r[cc], r[rc], r[oc])})
	}
	return out
}

// FindSharedData looks for the shared data directory (../shared/data
// beside the repository) from dir upwards, and returns its path, or
// an error when none is found. CITYBOT_DATA, when set, wins.
func FindSharedData(dir string) (string, error) {
	if d := os.Getenv("CITYBOT_DATA"); d != "" {
		return d, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("classifier: find data: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "data")
		if st, err := os.Stat(filepath.Join(cand, "disaster_en.csv")); err == nil && !st.IsDir() {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("classifier: find data: no shared/data/disaster_en.csv above %s", abs)
}

// ReadTableFile reads a CSV file with ReadTable.
func ReadTableFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	defer f.Close()
	t, err := ReadTable(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
