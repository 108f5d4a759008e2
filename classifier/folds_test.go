package classifier

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFolds writes the cross-validation folds of both shared data
// files as CSV (train_K.csv, test_K.csv with text and topic) into
// $CITYBOT_FOLDS_DIR, so that the reference baseline
// (../shared/tools/tfidf_baseline.py) is run on exactly the folds
// TestCrossValidation uses. It skips unless the variable is set.
func TestWriteFolds(t *testing.T) {
	dir := os.Getenv("CITYBOT_FOLDS_DIR")
	if dir == "" {
		t.Skip("set CITYBOT_FOLDS_DIR to write the folds")
	}
	const k = 5
	for _, name := range []string{"disaster_en", "newport_en"} {
		tab := readShared(t, name+".csv")
		texts, topics := tab.Column("text"), tab.Column("topic")
		urg := urgencyColumn(tab)
		for f := range k {
			write := func(path string, test bool) {
				fh, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				w := csv.NewWriter(fh)
				w.Write([]string{"text", "topic", "urgency"})
				n := 0
				for i := range texts {
					if (foldOf(texts[i], k) == f) != test {
						continue
					}
					u := ""
					if urg != nil {
						u = urg[i]
					}
					w.Write([]string{texts[i], topics[i], u})
					n++
				}
				w.Flush()
				if err := w.Error(); err != nil {
					t.Fatal(err)
				}
				if err := fh.Close(); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					t.Fatalf("%s: empty", path)
				}
			}
			write(filepath.Join(dir, fmt.Sprintf("%s_train_%d.csv", name, f)), false)
			write(filepath.Join(dir, fmt.Sprintf("%s_test_%d.csv", name, f)), true)
		}
	}
}
