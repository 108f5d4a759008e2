package classifier

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAugmentCollapse checks feature augmentation's bookkeeping: a data
// (or keyword) example reaches the shared rows and the data's own, an
// Aux example the shared rows and Aux's own, and the head keeps the
// shared weight plus the data's.
func TestAugmentCollapse(t *testing.T) {
	const R, L = 4, 2
	docs := []trainDoc{
		{rows: []int32{0, 3}, vals: []float32{0.6, 0.8}, label: 0, w: 1}, // keyword
		{rows: []int32{1}, vals: []float32{1}, label: 1, w: 2},           // aux
		{rows: []int32{2, 3}, vals: []float32{0.8, 0.6}, label: 0, w: 3}, // data
	}
	got := augment(docs, 1, 1, R)
	want := [][]int32{{0, 3, 4, 7}, {1, 9}, {2, 3, 6, 7}}
	for i, d := range got {
		if !slices.Equal(d.rows, want[i]) || len(d.vals) != 2*len(docs[i].vals) || d.w != docs[i].w || d.label != docs[i].label {
			t.Errorf("doc %d: rows %v vals %v w %v, want rows %v", i, d.rows, d.vals, d.w, want[i])
		}
		if !slices.Equal(d.vals[:len(docs[i].vals)], docs[i].vals) || !slices.Equal(d.vals[len(docs[i].vals):], docs[i].vals) {
			t.Errorf("doc %d: vals %v, want %v twice", i, d.vals, docs[i].vals)
		}
	}
	theta := make([]float64, 3*R*L+L)
	for i := range theta {
		theta[i] = float64(i)
	}
	c := collapse(theta, R, L)
	if len(c) != R*L+L {
		t.Fatalf("collapsed to %d weights, want %d", len(c), R*L+L)
	}
	for i := range R * L {
		if c[i] != theta[i]+theta[R*L+i] {
			t.Errorf("weight %d = %v, want shared %v + own %v", i, c[i], theta[i], theta[R*L+i])
		}
	}
	if c[R*L] != theta[3*R*L] || c[R*L+1] != theta[3*R*L+1] {
		t.Errorf("biases %v, want %v", c[R*L:], theta[3*R*L:])
	}
}

// TestTrainAux trains a city's topic head on the corpus's English
// messages of three topics, with and without its other languages as Aux:
// with them, the head learns those languages for the city's own topics,
// never a topic the city has no message of, and above AuxMax messages
// Aux is not used.
func TestTrainAux(t *testing.T) {
	ctx := context.Background()
	topics := []string{"roads", "street_lighting", "waste"}
	var data, aux []Example
	files, err := fs.Glob(cityCorpusFS, "corpus/*.tsv")
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus files %v: %v", files, err)
	}
	for _, name := range files {
		b, err := fs.ReadFile(cityCorpusFS, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 3 || strings.HasPrefix(line, "#") {
				continue
			}
			switch e := (Example{f[2], f[0]}); {
			case f[1] != "en":
				aux = append(aux, e)
			case slices.Contains(topics, e.Label):
				data = append(data, e)
			}
		}
	}
	own, err := Train(ctx, KindTopic, data, TrainOptions{NoSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	withAux, err := Train(ctx, KindTopic, data, TrainOptions{NoSearch: true, Aux: aux})
	if err != nil {
		t.Fatal(err)
	}
	if got := withAux.Labels(KindTopic); !slices.Equal(got, topics) {
		t.Errorf("labels with Aux %v: a topic the data lacks was learnt", got)
	}
	if withAux.Features(KindTopic) <= own.Features(KindTopic) {
		t.Errorf("features with Aux %d, without %d: the corpus's words were not learnt", withAux.Features(KindTopic), own.Features(KindTopic))
	}
	// Not English: the data has no word of them, the corpus does.
	foreign := []struct{ text, topic string }{
		{"Les poubelles de la rue Pasteur n'ont pas été ramassées depuis une semaine, ça déborde", "waste"},
		{"La basura lleva cuatro días sin recogerse en nuestra calle", "waste"},
		{"Il y a un énorme nid-de-poule sur la chaussée devant l'école", "roads"},
		{"Taa za barabarani hazifanyi kazi usiku, mtaa wetu ni giza kabisa", "street_lighting"},
		{"O lixo não é recolhido há uma semana e os contentores estão cheios", "waste"},
		{"Le lampadaire au coin de la rue est éteint depuis trois nuits", "street_lighting"},
		{"Hay un bache enorme en la avenida, ya se dañaron dos carros", "roads"},
		{"Barabara ya kwenda sokoni ina mashimo makubwa", "roads"},
		{"O poste de luz da minha rua está apagado há dias", "street_lighting"},
		{"Takataka hazijazolewa wiki nzima, zinanuka sana", "waste"},
	}
	opts := DefaultOptions()
	opts.DisableNER = true
	opts.Topics = nil // no keywords: the head alone
	right := map[string]int{}
	for name, m := range map[string]*Model{"own": own, "aux": withAux} {
		c, err := NewWithModel(opts, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range foreign {
			if got := c.Classify(f.text, "").Topic.Label; got == f.topic {
				right[name]++
			} else if name == "aux" {
				t.Logf("with Aux: %q tagged %s, want %s", f.text, got, f.topic)
			}
		}
	}
	t.Logf("foreign messages tagged right: %d of %d with the corpus, %d without", right["aux"], len(foreign), right["own"])
	if right["aux"] < 8 || right["aux"] <= right["own"] {
		t.Errorf("foreign messages tagged right: %d of %d with the corpus, %d without; want at least 8 and more", right["aux"], len(foreign), right["own"])
	}

	// Above AuxMax data examples the corpus is left out: the same
	// vocabulary as without it.
	var many []Example
	for i := range AuxMax + 1 {
		if len(data) == 0 {
			t.Fatal("no data")
		}
		many = append(many, data[i%len(data)])
		many[i].Text += fmt.Sprintf(" n%d", i)
	}
	a, err := Train(ctx, KindTopic, many, TrainOptions{NoSearch: true, NoCalibrate: true, Epochs: 2, Aux: aux})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(ctx, KindTopic, many, TrainOptions{NoSearch: true, NoCalibrate: true, Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if a.Features(KindTopic) != b.Features(KindTopic) {
		t.Errorf("%d data examples: %d features with Aux, %d without; Aux must be ignored above AuxMax", len(many), a.Features(KindTopic), b.Features(KindTopic))
	}
}

// TestKeywordSeen trains a city's own head whose messages about roads are
// labelled transport (it has no roads label, as disaster_en): the roads
// keywords are found in its transport messages, so they fade, and a road
// message is tagged transport; without the count (an older model file)
// the roads keywords win. The count survives the model file, and the
// shipped-style head (UnknownTrust) keeps none.
func TestKeywordSeen(t *testing.T) {
	ctx := context.Background()
	var data []Example
	for i := range 40 {
		data = append(data,
			Example{fmt.Sprintf("the road to village %d is cut by the flood, no bus can pass", i), "transport"},
			Example{fmt.Sprintf("family %d lost their house and needs shelter", i), "housing"},
			Example{fmt.Sprintf("we need clean drinking water in camp %d", i), "water_sanitation"},
		)
	}
	topics := DefaultOptions().Topics
	m, err := Train(ctx, KindTopic, data, TrainOptions{Topics: topics, NoSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := m.topic.kwSeen["roads"]; n < 30 {
		t.Fatalf("roads keywords seen in %d training messages, want at least 30 (counts %v)", n, m.topic.kwSeen)
	}
	if _, ok := m.topic.kwSeen["transport"]; ok {
		t.Errorf("a topic with data has a keyword count: %v", m.topic.kwSeen)
	}
	opts := DefaultOptions()
	opts.DisableNER = true
	const msg = "big potholes on the road near the bridge, the asphalt is broken"
	tag := func(m *Model) string {
		c, err := NewWithModel(opts, m)
		if err != nil {
			t.Fatal(err)
		}
		return c.Classify(msg, "").Topic.Label
	}
	if got := tag(m); got != "transport" {
		t.Errorf("with the keyword count: %q tagged %s, want transport", msg, got)
	}
	h := *m.topic
	h.kwSeen = nil
	if got := tag(&Model{name: "old", topic: &h}); got != "roads" {
		t.Errorf("without the keyword count: %q tagged %s, want roads (the test shows nothing otherwise)", msg, got)
	}
	path := t.TempDir() + "/city.model"
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadModelFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.topic.kwSeen["roads"] != m.topic.kwSeen["roads"] {
		t.Errorf("keyword counts after the file: %v, want %v", back.topic.kwSeen, m.topic.kwSeen)
	}
	s, err := Train(ctx, KindTopic, data, TrainOptions{Topics: topics, NoSearch: true, Trust: DefaultTopicTrust, UnknownTrust: DefaultUnknownTrust})
	if err != nil {
		t.Fatal(err)
	}
	if s.topic.kwSeen != nil || s.KeywordSeen() != nil {
		t.Errorf("shipped-style head has keyword counts %v", s.topic.kwSeen)
	}
	if got := m.KeywordSeen(); got["roads"] != m.topic.kwSeen["roads"] || len(got) != len(m.topic.kwSeen) {
		t.Errorf("KeywordSeen() = %v, want %v", got, m.topic.kwSeen)
	}

	// A city's lexicon directory adds keywords: they are counted too
	// ("camp" is in a third of the messages, no default noise keyword is).
	if n := m.topic.kwSeen["noise"]; n != 0 {
		t.Fatalf("noise keywords seen in %d messages before the city's file; the test shows nothing", n)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "en.toml"), []byte("[topics]\nnoise = [\"camp\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Train(ctx, KindTopic, data, TrainOptions{Topics: topics, LexiconDir: dir, NoSearch: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := c.KeywordSeen()["noise"]; n != 40 {
		t.Errorf("with the city's lexicon directory, noise keywords seen in %d messages, want 40 (counts %v)", n, c.KeywordSeen())
	}
	if _, err := Train(ctx, KindTopic, data, TrainOptions{Topics: topics, LexiconDir: filepath.Join(dir, "missing"), NoSearch: true}); err == nil {
		t.Error("a lexicon directory that does not exist: no error")
	}
}

// TestSVMWarmStartSameOptimum: a fit started from the solution under
// another C and NB scaling (fitTopicSVM's foldWarm) reaches the same
// classifier as a cold start.
func TestSVMWarmStartSameOptimum(t *testing.T) {
	ctx := context.Background()
	const R, L, n = 60, 3, 300
	rng := rand.New(rand.NewPCG(1, 2))
	docs := make([]trainDoc, n)
	for i := range docs {
		d := trainDoc{label: i % L, w: 1}
		var ss float64
		for r := range R {
			// label-leaning features plus noise
			if rng.Float64() < 0.08 || (r%L == d.label && rng.Float64() < 0.15) {
				v := float32(rng.Float64() + 0.1)
				d.rows, d.vals = append(d.rows, int32(r)), append(d.vals, v)
				ss += float64(v) * float64(v)
			}
		}
		for j := range d.vals {
			d.vals[j] /= float32(math.Sqrt(ss))
		}
		docs[i] = d
	}
	nop := func(int) {}
	cold, _, err := fitSVMDual(ctx, docs, R, L, 0.25, 0.5, svmMaxEpochs, nil, nop)
	if err != nil {
		t.Fatal(err)
	}
	_, prev, err := fitSVMDual(ctx, docs, R, L, 0.1, 0, svmMaxEpochs, nil, nop)
	if err != nil {
		t.Fatal(err)
	}
	warm, _, err := fitSVMDual(ctx, docs, R, L, 0.25, 0.5, svmMaxEpochs, prev, nop)
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i := range docs {
		if argmaxF(docLogits(cold, &docs[i], L)) == argmaxF(docLogits(warm, &docs[i], L)) {
			agree++
		}
	}
	var diff, norm float64
	for i := range cold {
		diff += (cold[i] - warm[i]) * (cold[i] - warm[i])
		norm += cold[i] * cold[i]
	}
	if agree < n*98/100 || diff > 0.01*norm {
		t.Errorf("warm start: %d of %d predictions agree with a cold start, relative squared distance %.4f", agree, n, diff/norm)
	}
}
