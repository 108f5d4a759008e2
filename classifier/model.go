package classifier

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"

	"citybot"
)

// LabelKind names what a model head predicts.
type LabelKind string

// The label kinds a Model may hold.
const (
	KindTopic   LabelKind = "topic"
	KindUrgency LabelKind = "urgency"
	// KindRequest and KindLifeThreat are binary heads (labels "0" and
	// "1") that factorise urgency for ranking: does the message ask for
	// help, and does it speak of a threat to life (see urgencyResult).
	KindRequest    LabelKind = "request"
	KindLifeThreat LabelKind = "lifethreat"
)

// head is one linear classifier over TF-IDF features: a weight row and an
// inverse document frequency per known feature.
type head struct {
	labels  []string
	index   *featTable // feature hash → row
	idf     []float32  // per row
	weights []float32  // rows × len(labels)
	bias    []float32
	trained int     // number of training examples
	trust   float64 // how far Classify trusts the head against keywords, in (0,1]
	// unknown, when in (0,1], weighs the head's prior against a topic
	// it has no data for instead of trust (TrainOptions.UnknownTrust).
	unknown float64
	counts  []int // per label: training messages (keyword examples not counted)
	// kwSeen, for a city's own topic head (no UnknownTrust): per topic
	// it has no data for, the training messages its keywords were found
	// in, all labelled otherwise (Train, keywordSeen).
	kwSeen map[string]int

	svm svmSetting // the topic SVM's C and NB scaling as Train chose them (not stored)
}

// logits writes the raw scores of fs into out (len(labels)) and returns
// how many features the head knew. Each group of the known features is
// scaled to unit norm, as in training.
func (h *head) logits(fs []feat, out []float64) int {
	L := len(h.labels)
	acc := make([]float64, nGroups*L)
	var ss [nGroups]float64
	known := 0
	for _, f := range fs {
		row, ok := h.index.get(f.h)
		if !ok {
			continue
		}
		known++
		x := float64(f.v * h.idf[row])
		ss[f.g] += x * x
		w := h.weights[int(row)*L : int(row)*L+L]
		a := acc[int(f.g)*L : int(f.g)*L+L]
		for k := range L {
			a[k] += x * float64(w[k])
		}
	}
	for k := range L {
		out[k] = float64(h.bias[k])
		for g := range nGroups {
			out[k] += acc[g*L+k] * groupNorm(g, ss[g])
		}
	}
	return known
}

// Model holds a topic head, an urgency head, or both. A Model is immutable
// once built and safe for concurrent use.
type Model struct {
	name       string
	topic      *head
	urgency    *head
	request    *head // binary: P(the message asks for help)
	lifeThreat *head // binary: P(it speaks of a threat to life)
}

// Name returns the model's name and version, as Classification.Model
// reports it.
func (m *Model) Name() string { return m.name }

// Labels returns the labels the model's head of that kind predicts, in the
// model's order, or nil when the model has no such head. The caller owns
// the returned slice.
func (m *Model) Labels(kind LabelKind) []string {
	if h := m.head(kind); h != nil {
		return slices.Clone(h.labels)
	}
	return nil
}

// KeywordSeen returns, for a city's own topic head, the topics it has no
// data for whose keywords were found in its training messages (all
// labelled otherwise), with how many: Classify fades those keywords. Nil
// for the shipped model and older files. The caller owns the map.
func (m *Model) KeywordSeen() map[string]int {
	if m.topic == nil || len(m.topic.kwSeen) == 0 {
		return nil
	}
	return maps.Clone(m.topic.kwSeen)
}

// Has reports whether the model holds a head of that kind.
func (m *Model) Has(kind LabelKind) bool { return m.head(kind) != nil }

// Features returns the number of features the model's head of that kind
// knows (0 when absent).
func (m *Model) Features(kind LabelKind) int {
	if h := m.head(kind); h != nil {
		return h.index.len()
	}
	return 0
}

func (m *Model) head(kind LabelKind) *head {
	switch kind {
	case KindTopic:
		return m.topic
	case KindUrgency:
		return m.urgency
	case KindRequest:
		return m.request
	case KindLifeThreat:
		return m.lifeThreat
	}
	return nil
}

// WithFallback returns a model that has m's heads and, for each kind m
// lacks, base's head. Neither model is changed. A nil base returns m.
func (m *Model) WithFallback(base *Model) *Model {
	if base == nil {
		return m
	}
	out := *m
	for _, p := range []struct{ dst, src **head }{
		{&out.topic, &base.topic}, {&out.urgency, &base.urgency},
		{&out.request, &base.request}, {&out.lifeThreat, &base.lifeThreat},
	} {
		if *p.dst == nil {
			*p.dst = *p.src
		}
	}
	return &out
}

// The file format: a magic line, then a gzip-compressed gob of modelFile.
// Weights are quantised to int16 per head (max error 1/65534 of the
// largest weight), feature hashes are sorted and delta-encoded as varints,
// inverse document frequencies quantised to 1/1024. Version 2 (TF-IDF
// features, L-BFGS logistic regression) replaced version 1 (hashed
// unit-norm features, SGD): a version 1 file must be retrained.
const (
	modelMagic   = "citybot-classifier-model\n"
	modelVersion = 2
	idfQuantum   = 1024
)

type modelFile struct {
	Version int
	Name    string
	Heads   []headFile
}

type headFile struct {
	Kind    string
	Labels  []string
	Trained int
	Keys    []byte // sorted uint64 hashes, delta varints
	Scale   float32
	Weights []byte // int16 little endian, rows × labels, rows in key order
	Bias    []float32
	Trust   float64 // in (0,1]
	// UnknownTrust: 0 (absent from older files) means Trust.
	UnknownTrust float64 // in [0,1]
	IDF          []byte  // uint16 little endian per row, in key order, × 1/idfQuantum
	Counts       []int   // per label: training messages
	// KeywordSeen: head.kwSeen (absent from older files: none).
	KeywordSeen map[string]int
}

// Save writes m in the model file format.
func (m *Model) Save(w io.Writer) error {
	mf := modelFile{Version: modelVersion, Name: m.name}
	for _, kind := range []LabelKind{KindTopic, KindUrgency, KindRequest, KindLifeThreat} {
		h := m.head(kind)
		if h == nil {
			continue
		}
		mf.Heads = append(mf.Heads, encodeHead(kind, h))
	}
	if len(mf.Heads) == 0 {
		return fmt.Errorf("classifier: save model: no head: %w", citybot.ErrInvalid)
	}
	if _, err := io.WriteString(w, modelMagic); err != nil {
		return fmt.Errorf("classifier: save model: %w", err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("classifier: save model: %w", err)
	}
	if err := gob.NewEncoder(zw).Encode(&mf); err != nil {
		return fmt.Errorf("classifier: save model: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("classifier: save model: %w", err)
	}
	return nil
}

// WriteFile saves m to path atomically (a temporary file renamed over
// path).
func (m *Model) WriteFile(path string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".model-*")
	if err != nil {
		return fmt.Errorf("classifier: write model: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err = m.Save(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("classifier: write model: %w", err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("classifier: write model: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("classifier: write model: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("classifier: write model: %w", err)
	}
	return nil
}

func encodeHead(kind LabelKind, h *head) headFile {
	L := len(h.labels)
	byRow := h.index.keysByRow()
	order := make([]int, len(byRow))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(byRow[a], byRow[b]) })
	var maxAbs float32
	for _, w := range h.weights {
		maxAbs = max(maxAbs, float32(math.Abs(float64(w))))
	}
	scale := maxAbs / 32767
	if scale == 0 {
		scale = 1
	}
	kb := make([]byte, 0, len(byRow)*9)
	wb := make([]byte, 0, len(byRow)*L*2)
	ib := make([]byte, 0, len(byRow)*2)
	var prev uint64
	for _, row := range order {
		k := byRow[row]
		kb = binary.AppendUvarint(kb, k-prev)
		prev = k
		q := min(math.Round(float64(h.idf[row])*idfQuantum), math.MaxUint16)
		ib = binary.LittleEndian.AppendUint16(ib, uint16(q))
		for _, w := range h.weights[row*L : row*L+L] {
			q := int16(math.Round(float64(w / scale)))
			wb = binary.LittleEndian.AppendUint16(wb, uint16(q))
		}
	}
	return headFile{Kind: string(kind), Labels: h.labels, Trained: h.trained, Keys: kb, Scale: scale, Weights: wb, Bias: h.bias, Trust: h.trust, UnknownTrust: h.unknown, IDF: ib, Counts: h.counts, KeywordSeen: h.kwSeen}
}

func decodeHead(hf headFile) (*head, error) {
	L := len(hf.Labels)
	if L < 1 || len(hf.Bias) != L {
		return nil, fmt.Errorf("%s head has %d labels and %d biases", hf.Kind, L, len(hf.Bias))
	}
	if !finite32(hf.Scale) || slices.ContainsFunc(hf.Bias, func(f float32) bool { return !finite32(f) }) {
		return nil, fmt.Errorf("%s head has a weight that is not a finite number", hf.Kind)
	}
	seen := map[string]bool{}
	for _, l := range hf.Labels {
		if l == "" || seen[l] {
			return nil, fmt.Errorf("%s head has an empty or repeated label %q", hf.Kind, l)
		}
		seen[l] = true
	}
	if len(hf.Weights)%(2*L) != 0 {
		return nil, fmt.Errorf("%s head has %d weight bytes for %d labels", hf.Kind, len(hf.Weights), L)
	}
	rows := len(hf.Weights) / (2 * L)
	if !(hf.Trust > 0 && hf.Trust <= 1) {
		return nil, fmt.Errorf("%s head has trust %v outside (0,1]", hf.Kind, hf.Trust)
	}
	if !(hf.UnknownTrust >= 0 && hf.UnknownTrust <= 1) {
		return nil, fmt.Errorf("%s head has unknown-topic trust %v outside [0,1]", hf.Kind, hf.UnknownTrust)
	}
	if len(hf.Counts) != L || slices.ContainsFunc(hf.Counts, func(n int) bool { return n < 0 }) {
		return nil, fmt.Errorf("%s head has %d label counts for %d labels", hf.Kind, len(hf.Counts), L)
	}
	if len(hf.IDF) != 2*rows {
		return nil, fmt.Errorf("%s head has %d idf bytes for %d features", hf.Kind, len(hf.IDF), rows)
	}
	for l, n := range hf.KeywordSeen {
		if n < 0 || slices.Contains(hf.Labels, l) {
			return nil, fmt.Errorf("%s head: keyword count %d for topic %q", hf.Kind, n, l)
		}
	}
	h := &head{labels: hf.Labels, bias: hf.Bias, trained: hf.Trained, trust: hf.Trust, unknown: hf.UnknownTrust, counts: hf.Counts, kwSeen: hf.KeywordSeen,
		weights: make([]float32, rows*L), idf: make([]float32, rows)}
	for r := range rows {
		h.idf[r] = float32(binary.LittleEndian.Uint16(hf.IDF[2*r:])) / idfQuantum
	}
	keys := make([]uint64, rows)
	var key uint64
	kb := hf.Keys
	for r := range rows {
		d, n := binary.Uvarint(kb)
		if n <= 0 {
			return nil, fmt.Errorf("%s head: truncated feature keys", hf.Kind)
		}
		kb = kb[n:]
		if d == 0 && r > 0 {
			return nil, fmt.Errorf("%s head: repeated feature key", hf.Kind)
		}
		key += d
		keys[r] = key
	}
	if len(kb) != 0 {
		return nil, fmt.Errorf("%s head: %d bytes of feature keys left over", hf.Kind, len(kb))
	}
	h.index = newFeatTable(keys)
	for i := range h.weights {
		h.weights[i] = float32(int16(binary.LittleEndian.Uint16(hf.Weights[2*i:]))) * hf.Scale
	}
	return h, nil
}

func finite32(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// errBadModel formats ReadModel's errors: they wrap citybot.ErrInvalid.
func errBadModel(format string, a ...any) error {
	return fmt.Errorf("classifier: read model: %s: not a valid classifier model: %w", fmt.Sprintf(format, a...), citybot.ErrInvalid)
}

// ReadModel reads a model written by Save. A damaged or foreign file
// gives an error wrapping citybot.ErrInvalid.
func ReadModel(r io.Reader) (*Model, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(modelMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != modelMagic {
		return nil, errBadModel("missing header")
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, errBadModel("%v", err)
	}
	// Bound what a hostile file can make us allocate.
	lr := io.LimitReader(zr, 512<<20)
	var mf modelFile
	if err := gob.NewDecoder(lr).Decode(&mf); err != nil {
		return nil, errBadModel("%v", err)
	}
	if mf.Version != modelVersion {
		return nil, errBadModel("model format version %d, this citybot reads version %d: retrain it with `citybot train`", mf.Version, modelVersion)
	}
	m := &Model{name: mf.Name}
	for _, hf := range mf.Heads {
		h, err := decodeHead(hf)
		if err != nil {
			return nil, errBadModel("%v", err)
		}
		switch LabelKind(hf.Kind) {
		case KindTopic:
			m.topic = h
		case KindUrgency:
			m.urgency = h
		case KindRequest:
			m.request = h
		case KindLifeThreat:
			m.lifeThreat = h
		default:
			return nil, errBadModel("unknown head %q", hf.Kind)
		}
	}
	if m.topic == nil && m.urgency == nil {
		return nil, errBadModel("no head")
	}
	return m, nil
}

// ReadModelFile reads a model file. A missing file gives an error wrapping
// fs.ErrNotExist; a damaged one, citybot.ErrInvalid.
func ReadModelFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("classifier: open model: %w", err)
	}
	defer f.Close()
	m, err := ReadModel(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// DefaultModel decodes the model shipped in the package (trained on
// disaster_en.csv and the default keywords; see README.md). Each call
// decodes a fresh copy (about 50 ms).
func DefaultModel() (*Model, error) {
	m, err := ReadModel(bytes.NewReader(defaultModelBytes))
	if err != nil {
		return nil, fmt.Errorf("classifier: default model: %w", err)
	}
	return m, nil
}
