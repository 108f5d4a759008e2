package classifier

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

type labelled struct {
	sensitive bool
	text      string
}

// readLabelled reads a testdata file of "1<TAB>text" / "0<TAB>text" lines
// ('#' starts a comment line).
func readLabelled(t *testing.T, name string) []labelled {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label, text, ok := strings.Cut(line, "\t")
		if !ok || label != "0" && label != "1" || strings.TrimSpace(text) == "" {
			t.Fatalf("%s:%d: want 0 or 1, a tab and a text", name, n)
		}
		out = append(out, labelled{label == "1", text})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSensitiveRecall measures the sensitive flag (rules or model) on
// hand-written sets of plain-words reports (bribes, extortion,
// favouritism, embezzlement, land grabs; EN and FR, most without the words
// corruption, bribe or pot-de-vin) and controls about fees, taxes,
// permits and prices:
//
//   - tuning: testdata/sensitive_tune*.tsv, on which the rules were tuned
//     and the model trained (each file a round written separately; every
//     one but sensitive_tune.tsv and sensitive_tune_extra.tsv was a
//     held-out set first): recall >= 0.95, false alarms <= 3 %;
//   - held-out: testdata/sensitive_fresh3.tsv and sensitive_fresh7.tsv,
//     never used to train, tune or choose the thresholds (their misses
//     are counted, not printed); the floors are the levels measured.
//     (sensitive_fresh4.tsv, sensitive_fresh5.tsv and
//     sensitive_fresh6.tsv, each measured once, are now the tuning rounds
//     sensitive_tune_fresh4.tsv, sensitive_tune_fresh5.tsv and
//     sensitive_tune_fresh6.tsv.)
//
// The out-of-fold figure (leave one round out) is TestSensitiveModelCV.
func TestSensitiveRecall(t *testing.T) {
	c := newDefault(t)
	for _, part := range []struct {
		name      string
		files     []string
		show      bool
		minRecall float64
		maxFA     float64
	}{
		{"tuning", nil, true, 0.95, 0.03}, // testdata/sensitive_tune*.tsv
		// Unseen plain-words reports are harder: the nine held-out sets
		// written before the model measured 0.85, 0.725, 0.75, 0.45, 0.70,
		// 0.925, 0.75, 0.525 and 0.725 with the rules alone when first
		// read; with rules and model the tenth 0.769 (0.615 rules alone),
		// the eleventh 0.817 (0.650), the twelfth (this one) 0.783 (0.533).
		{"held-out", []string{"testdata/sensitive_fresh3.tsv"}, false, freshMinRecall, freshMaxFA},
		// Written at the start of branch sens9c, before any of its
		// changes, measured once at its end.
		{"held-out-7", []string{"testdata/sensitive_fresh7.tsv"}, false, fresh7MinRecall, fresh7MaxFA},
		// Written by a helper of session 6 without reading any earlier
		// set or the detector; measured once before any change.
		{"held-out-8", []string{"testdata/sensitive_fresh8.tsv"}, false, fresh8MinRecall, fresh8MaxFA},
		// Long messages, written blind by a helper of session 6.
		{"long", []string{"testdata/sensitive_long_check.tsv"}, false, longMinRecall, longMaxFA},
		// Long messages again, written blind by a helper of session 7
		// (60/60, about 45 of the controls near twins).
		{"long-2", []string{"testdata/sensitive_long_check2.tsv"}, false, long2MinRecall, long2MaxFA},
		// Reports only, written blind by a helper of session 8 as
		// corruption-topic data: 0.731 (117/160) when first read; 0.775
		// (124/160) with round 24, whose kinds were drawn from its misses
		// (so no longer blind).
		{"blind-9", []string{"testdata/sensitive_fresh9.tsv"}, false, 0.77, 0},
		// Held-out 19, written blind by a helper of session 9 before
		// round 24: read by the model shipped before it and by the one
		// trained with it (fresh10MinRecall). Round 25 was drawn from
		// its misses, so it is no longer blind.
		{"held-out-19", []string{"testdata/sensitive_fresh10.tsv"}, false, fresh10MinRecall, fresh10MaxFA},
		// Held-out 20, written blind by a helper of session 10 before
		// round 25 was read (fresh11MinRecall).
		{"held-out-20", []string{"testdata/sensitive_fresh11.tsv"}, false, fresh11MinRecall, fresh11MaxFA},
		// Held-out 21, written blind by a helper of session 11 before the
		// declined lists or round 26 were written (fresh12MinRecall).
		{"held-out-21", []string{"testdata/sensitive_fresh12.tsv"}, false, fresh12MinRecall, fresh12MaxFA},
		// Held-out 22, written blind by a helper of session 11 after
		// held-out 21 was read and before round 26 was written.
		{"held-out-22", []string{"testdata/sensitive_fresh13.tsv"}, false, fresh13MinRecall, fresh13MaxFA},
		// Held-out 23, written blind by a helper of session 11 in the
		// style of the examples, before round 27 was written.
		{"held-out-23", []string{"testdata/sensitive_fresh14.tsv"}, false, fresh14MinRecall, fresh14MaxFA},
	} {
		t.Run(part.name, func(t *testing.T) {
			files := part.files
			if files == nil {
				var err error
				if files, err = filepath.Glob("testdata/sensitive_tune*.tsv"); err != nil || len(files) < 2 {
					t.Fatalf("tuning files %v: %v", files, err)
				}
			}
			var rows []labelled
			for _, f := range files {
				rows = append(rows, readLabelled(t, f)...)
			}
			var pos, neg, tp, fp, byModel int
			for _, r := range rows {
				got := c.Classify(r.text, "")
				if got.Sensitive && len(got.SensitiveCues) == 0 {
					t.Errorf("%s: sensitive without cues", part.name)
				}
				if got.Sensitive && strings.HasPrefix(got.SensitiveCues[0], "model ") {
					byModel++
				}
				if r.sensitive {
					pos++
					if got.Sensitive {
						tp++
					} else if part.show {
						t.Logf("missed: %q (topic %s)", r.text, got.Topic.Label)
					}
				} else {
					neg++
					if got.Sensitive {
						fp++
						if part.show {
							t.Logf("false alarm: %q: %v", r.text, got.SensitiveCues)
						}
					}
				}
			}
			if pos < 40 || neg < 40 && part.maxFA > 0 {
				t.Fatalf("%s: only %d reports and %d controls", part.name, pos, neg)
			}
			recall, fa := float64(tp)/float64(pos), float64(fp)/float64(max(neg, 1))
			t.Logf("%s: recall %.3f (%d/%d), false alarms %.3f (%d/%d); %d flags by the model alone", part.name, recall, tp, pos, fa, fp, neg, byModel)
			if recall < part.minRecall || fa > part.maxFA {
				t.Errorf("%s: recall %.3f (want >= %.3f), false alarms %.3f (want <= %.3f)", part.name, recall, part.minRecall, fa, part.maxFA)
			}
		})
	}
}

// The level the fresh held-out set (sensitive_fresh3.tsv) reached when
// measured once, rules and model: recall 0.783 (47/60), false alarms
// 0.115 (7/61: 3 the rules', 4 the model's, on controls written as near
// twins of the reports; see README.md, Sensitive). With the es, pt, ar and
// sw lexicons applied to every message it fell to 0.733 (44/60); since
// each lexicon applies only to its own language (plus en and fr) it is
// 0.783 again; with rounds 12–14 and the threshold allowed 3 % of added
// false alarms out of fold (instead of 1 %), 0.800 (48/60) and 0.098
// (6/61); with round 15 too, 0.817 (49/60) and 0.098 (6/61); with round
// 16 and 2.5 % of added false alarms, 0.800 (48/60) and 0.082 (5/61);
// with the model's veto of weak evidence, the lawful frame and rounds
// 18–19 (branch sens9b), 0.817 (49/60) and 0.033 (2/61); with
// sensitive_tune_fresh5.tsv in training too, 0.800 (48/60) and 0.016
// (1/61); with the model's veto of the rules, its frame features,
// sensitive_tune_fresh6.tsv and round 20 (branch sens9c), 0.750 (45/60)
// and 0.000 (0/61); with rounds 21–22 and ordinary city messages as
// negatives (session 6), 0.750 (45/60) and 0.033 (2/61).
const (
	freshMinRecall = 0.81
	freshMaxFA     = 0.05
)

// The fifth fresh held-out set (sensitive_fresh5.tsv, 96 reports and
// 108 controls, EN and FR, a near twin of most reports among the
// controls), measured once on branch sens9b before it joined tuning:
// recall 0.917 (88/96), false alarms 0.139 (15/108; the model shipped
// before the branch: 88/96 and 23/108). The sixth
// (sensitive_fresh6.tsv, 60 reports and 60 near-twin controls), written
// before the fifth joined tuning, measured once at the end with the
// fifth in training: recall 0.900 (54/60), false alarms 0.067 (4/60: 3
// the rules', 1 the model's), with a rule (since taken back) that read a
// number before a plural noun as things counted, not money, which lost
// "inspector wanted 2 crates of beer", a bribe in kind. As shipped,
// measured a second time (not clean): 0.917 (55/60) and 0.067 (4/60).
// The model shipped before branch sens9b reads it at 0.950 (57/60) and
// 0.133 (8/60); the first model of branch sens9b, trained before the
// fifth joined tuning, at 0.933 (56/60) and 0.067 (4/60).
//
// The seventh (sensitive_fresh7.tsv, 96 reports and 104 controls, most
// of them near twins), written at the start of branch sens9c before any
// of its changes, measured once at its end with the sixth and round 20
// in training: recall 0.844 (81/96), false alarms 0.087 (9/104: 4 the
// rules', 5 the model's). The model shipped before the branch reads it
// at 0.833 (80/96) and 0.106 (11/104). With rounds 21–22 and ordinary
// city messages as negatives (session 6): 0.875 (84/96) and 0.106
// (11/104).
const (
	fresh7MinRecall = 0.89
	fresh7MaxFA     = 0.09
)

// The eighth (sensitive_fresh8.tsv, 100 reports and 100 controls, 50
// and 50 English and French), written by a helper of session 6 that read
// neither the earlier sets nor the detector; measured once, before any
// change, by the model shipped then (trained on rounds 0–20): recall 0.830
// (83/100: direct demands 38/40, hints 21/30, third person or structural
// 24/30), false alarms 0.050 (5/100: 3 of 50 near twins, 2 of 50 plain
// questions and complaints about fees, taxes and prices). Read a second
// time by the model of rounds 0–22 with ordinary city messages as
// negatives (session 6; nothing was chosen on it): 0.840 (84/100) and
// 0.050 (5/100); with round 24 (session 9) 0.820 (82/100) and 0.050.
//
// The long check (sensitive_long_check.tsv: 80 reports told in one or
// two sentences of a story of 82–125 words, and 80 lawful stories, most
// of them near twins sharing the report's other sentences; en, fr, es,
// pt), written blind by a helper of session 6: the model of branch sens9c
// 0.950 (76/80) and 0.425 (34/80), the model of rounds 0–22 with the
// city negatives 0.913 (73/80) and 0.388 (31/80); with a long message's
// features scaled by 1/n, tried and not kept, 0.875 (70/80) and 0.300
// (24/80): a miss weighs more than a false alarm. Since session 7 a
// message of three sentences or more must read as a report in one window
// of two sentences too (TestSensitiveWindows): 0.913 (73/80) and 0.325
// (26/80). The second long check (sensitive_long_check2.tsv: 60 reports
// and 60 lawful stories of 80–140 words, en 34, fr 20, es 3, pt 3 each,
// some 45 of the controls near twins), written blind by a helper of
// session 7 and measured once, before and with the window check: recall
// 1.000 (60/60) both, false alarms 0.417 (25/60) before, 0.383 (23/60)
// with it. With round 24 (session 9: its hard reports lowered the
// vetoes' thresholds) the long check reads 0.938 (75/80) and 0.362
// (29/80), the second 1.000 and 0.433 (26/60).
//
// Held-out 19 (sensitive_fresh10.tsv: 100 reports and 100 controls, 50
// and 50 English and French; per language 15 direct demands, 15 hints,
// 20 third-person or structural reports, 25 near-twin controls and 25
// ordinary ones), written blind by a helper of session 9 before round 24
// was written or read: the model shipped before round 24 reads it at
// 0.770 (77/100) and 0.060 (6/100), the model trained with round 24 at
// 0.810 (81/100) and 0.050 (5/100). Round 24 was kept on these two
// readings (the only choice made on the set). Session 10 read its misses
// and drew round 25's kinds from them (hints by euphemism or gesture,
// works paid and never done, relief diverted, sham tenders and family
// hiring); with round 25 it reads 0.880 (88/100) and 0.050 (5/100), no
// longer a blind figure.
//
// Held-out 20 (sensitive_fresh11.tsv: 100 reports and 100 controls, 50
// and 50 English and French, the same mix as held-out 19, voices from
// other countries), written blind by a helper of session 10 before round
// 25 was read: the model of round 24 reads it at 0.900 (90/100) and 0.090
// (9/100), the model trained with round 25 at 0.900 (90/100) and 0.100
// (10/100). Its writer and round 25's were given some of the same
// euphemisms as examples ("make the file heavy", "mouiller la barbe").
//
// With round 25 (session 10) the other sets read: held-out 0.800 and
// 0.033 (0.750 and 0.033 before), held-out 7 0.885 and 0.077 (0.875 and
// 0.106), held-out 8 0.810 and 0.060 (0.820 and 0.050), long 0.963 and
// 0.338 (0.938 and 0.362), long 2 1.000 and 0.450 (1.000 and 0.433),
// blind 9 0.769 (0.775). Over the seven sets read blind once, 564
// reports caught (560 before) and 80 false alarms (82).
//
// Session 11 read held-out 20's misses and false alarms: five of its ten
// false alarms deny a demand or refuse a gift ("he hadn't asked for
// anything", "personne n'a rien payé", "le douanier a refusé la
// bouteille"), which the [sensitive] declined lists now read
// (TestSensitiveDeclined), and one ("I fixed them and paid the fee") took
// "them" before the verb for the payee (payeeAt). With both, held-out 20
// reads 0.900 (90/100) and 0.040 (4/100), no longer a blind figure;
// held-out 0.800 and 0.016, held-out 7 0.875 and 0.077 (one report
// fewer, from the regenerated weights), long 0.963 and 0.338.
//
// Held-out 21 (sensitive_fresh12.tsv: 100 reports and 100 controls, 50
// and 50 English and French, many short SMS and hard controls: news of
// corruption trials, questions on how to report it, thanks with a small
// gift), written blind by a helper of session 11: the model of round 25
// and the one with the declined lists both read it at 0.930 (93/100) and
// 0.220 (22/100), of which five questions or news that name corruption,
// racketeering or embezzlement (a phrase, never vetoed); then read, so
// not blind since. With the French plural forms of the declined lists
// ("ils n'avaient rien demandé") 0.930 and 0.210.
//
// Held-out 22 (sensitive_fresh13.tsv: 100 reports and 100 controls, 45
// and 45 English and French, 10 in es, pt and sw, 40 % short SMS, hard
// controls), written blind by a helper of session 11 before round 26:
// read by the model of round 25 at 0.870 (87/100) and 0.250 (25/100), with
// the declined lists at 0.880 (88/100) and 0.230 (23/100), and with round
// 26 (its kinds drawn from held-out 20's and 21's misses and false
// alarms) and the threshold bound at 4 % (defaultSensMaxAddedFA) at 0.880
// (88/100) and 0.210 (21/100); at 2.5 %, 0.870 and 0.210. Then read:
// round 27 was drawn from its misses and false alarms (aid and jobs kept
// for a chief's people, exam papers sold, touts at an office, works done
// thin, tickets torn up for cash, "area boys" collecting "protection";
// relatives in the public service asking about the rules, open
// fundraising, price changes "au lieu de", instalments). With round 27,
// "20k" read as an amount (thousands) and "au lieu de" no longer a
// condition alone: 0.900 (90/100) and 0.200 (20/100), no longer blind.
//
// Held-out 23 (sensitive_fresh14.tsv: 100 reports and 100 controls, 50
// and 50 English and French, in the style of the examples: 60
// direct reports, 40 less direct, none naming corruption or a bribe;
// controls about fees, taxes, permits and prices), written blind by a
// helper of session 11 before round 27: the model of stop 22 (rounds
// 0–25) reads it at 0.930 (93/100) and 0.040 (4/100), the model of
// round 26 at 0.950 (95/100) and 0.030 (3/100), with "20k" and "au lieu
// de" at 0.940 and 0.030, with round 27 (as shipped) at 0.950 (95/100)
// and 0.030 (3/100): the target on this set. Not read.
//
// With round 26 and the 4 % bound the other sets read: held-out 0.783 and
// 0.033 (0.800 and 0.016 before), held-out 7 0.906 and 0.096 (0.875 and
// 0.077), held-out 8 0.820 and 0.050 (0.810 and 0.060), long 0.950 and
// 0.300 (0.963 and 0.338), long 2 1.000 and 0.383 (1.000 and 0.450),
// blind 9 0.775 (0.769), held-out 19 0.890 and 0.060 (0.890 and 0.050),
// held-out 20 0.890 and 0.030 (0.900 and 0.040), held-out 21 0.940 and
// 0.150 (0.930 and 0.210). Over the sets read blind once and not drawn
// from since (held-out, 7, 8, long, long 2, blind 9 and 22): 564 of 656
// reports caught (561 with the declined lists alone) and 85 false alarms
// of 505 controls (92).
//
// With round 27 the other sets read: held-out 0.817 and 0.049 (0.783 and
// 0.033 with round 26), held-out 7 0.896 and 0.087 (0.906 and 0.096),
// held-out 8 0.840 and 0.050 (0.820 and 0.050), long 0.938 and 0.287
// (0.950 and 0.300), long 2 1.000 and 0.400 (1.000 and 0.383), blind 9
// 0.775 (0.775), held-out 19 0.890 and 0.050 (0.890 and 0.060), held-out
// 20 0.910 and 0.030 (0.890 and 0.030), held-out 21 0.940 and 0.160
// (0.940 and 0.150). Over the sets read blind once and not drawn from
// (held-out, 7, 8, long, long 2, blind 9 and 23): 573 of 656 reports
// caught (571 with round 26) and 67 false alarms of 505 controls (67).
const (
	fresh8MinRecall  = 0.84
	fresh8MaxFA      = 0.05
	longMinRecall    = 0.93
	longMaxFA        = 0.29
	long2MinRecall   = 1.0
	long2MaxFA       = 0.40
	fresh10MinRecall = 0.89
	fresh10MaxFA     = 0.05
	fresh11MinRecall = 0.91
	fresh11MaxFA     = 0.03
	fresh12MinRecall = 0.94
	fresh12MaxFA     = 0.16
	fresh13MinRecall = 0.90
	fresh13MaxFA     = 0.20
	fresh14MinRecall = 0.95
	fresh14MaxFA     = 0.03
)

// TestSensitiveModelCV retrains the learned part of the sensitive detector
// as `go generate` does (leave-one-round-out cross-validation over the
// rounds testdata/sensitive_tune*.tsv, disaster_en.csv texts as
// negatives), reports the out-of-fold recall and false alarms of the rules
// alone and of the rules or the model, asserts the level measured, and
// checks that the embedded weights are the ones `go generate` builds.
// Skipped without the shared data and with -short (it takes a while).
func TestSensitiveModelCV(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir, err := FindSharedData(".")
	if err != nil {
		t.Skip(err)
	}
	tab, err := ReadTableFile(filepath.Join(dir, "disaster_en.csv"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("testdata/sensitive_tune*.tsv")
	if err != nil || len(files) < 2 {
		t.Fatalf("tuning files %v: %v", files, err)
	}
	tr := SensitiveTraining{Negatives: tab.Column("text")}
	for _, f := range files {
		s := SensitiveSet{Round: strings.TrimSuffix(filepath.Base(f), ".tsv")}
		for _, r := range readLabelled(t, f) {
			s.Texts = append(s.Texts, r.text)
			s.Label = append(s.Label, r.sensitive)
		}
		tr.Rounds = append(tr.Rounds, s)
	}
	negFiles, err := filepath.Glob("testdata/sensitive_negatives*.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range negFiles {
		for _, r := range readLabelled(t, f) {
			if r.sensitive {
				t.Fatalf("%s: a report among the negatives: %q", f, r.text)
			}
			tr.Negatives = append(tr.Negatives, r.text)
		}
	}
	b, cv, err := TrainSensitive(t.Context(), tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("threshold %.4f, evidence threshold %.4f", cv.Threshold, cv.Evidence)
	t.Logf("out of fold, rules alone:    recall %.3f, false alarms %.3f, negatives flagged %.4f", cv.RulesRecall, cv.RulesFA, cv.RulesNeg)
	t.Logf("out of fold, model alone:    recall %.3f, false alarms %.3f, negatives flagged %.4f", cv.ModelRecall, cv.ModelFA, cv.ModelNeg)
	t.Logf("out of fold, rules or model: recall %.3f, false alarms %.3f, negatives flagged %.4f", cv.Recall, cv.FA, cv.Neg)
	for _, r := range cv.PerRound {
		t.Log("  " + r)
	}
	if cv.Recall < cvMinRecall || cv.FA > cvMaxFA || cv.Neg > 0.01 {
		t.Errorf("out of fold: recall %.3f (want >= %.2f), false alarms %.3f (want <= %.3f), disaster_en %.4f (want <= 0.01)", cv.Recall, cvMinRecall, cv.FA, cvMaxFA, cv.Neg)
	}
	if cv.Recall <= cv.RulesRecall {
		t.Errorf("out of fold: the model adds nothing (recall %.3f, rules alone %.3f)", cv.Recall, cv.RulesRecall)
	}
	if runtime.GOARCH == "amd64" && !bytes.Equal(b, sensitiveModelBytes) {
		t.Errorf("sensitive_model.bin is not what go generate builds from the data: run go generate ./classifier")
	}
}

// The out-of-fold recall and false alarms of the rules or the model, as
// measured (0.895 and 0.034; 0.886 and 0.036 while the es, pt, ar and sw
// lexicons applied to every message; 0.895 and 0.034 again once each
// applies to its own language; 0.876 and 0.053 with rounds 12–14, which
// are harder (rules alone 0.35–0.69 on them), and the threshold letting
// the model add 3 % of false alarms; 0.883 and 0.058 with round 15;
// 0.879 and 0.052 with round 16 and 2.5 %; 0.881 and 0.052 reading the
// languages the detection did not rule out; 0.878 and 0.051 with round
// 17; 0.871 and 0.040 on rounds 0–19 with the model's veto of the rules'
// weak evidence and the lawful frame, branch sens9b: rounds 18 and 19 are
// near twins and hard; 0.875 and 0.043 with sensitive_tune_fresh5.tsv,
// whose controls are near twins too; see README.md, Sensitive). The
// false alarms are the rules' own (0.015 after the veto) and the model's
// on the controls of the extra rounds and rounds 10–19, written as near
// twins of reports. Session 6: 0.840 and 0.040 over 30 rounds, the two
// new ones hard (indirect reports 0.49, es/pt/ar/sw 0.63 out of fold).
// Session 9: 0.826 and 0.040 over 31 rounds; round 24 (structural
// reports: money paid for work never done, aid sold, vote buying) is
// 0.475 out of fold. Session 10: 0.819 and 0.043 over 32 rounds; round
// 25 (hints by euphemism or gesture, works paid and never done, relief
// diverted, sham tenders; drawn from held-out 19's misses) is 0.708.
// Session 11: 0.825 and 0.066 over 33 rounds; round 26 (threats,
// euphemisms, marks sold, works short-delivered, near twins of each) is
// 0.769 and 0.215 out of fold, and the threshold bound rose from 2.5 %
// to 4 % of added false alarms (defaultSensMaxAddedFA) so that it costs
// no recall out of fold. With round 27 (aid and jobs kept for a chief's
// people, exam papers sold, touts, works done thin; 0.858 and 0.250 out
// of fold) 0.824 and 0.074 over 34 rounds.
const (
	cvMinRecall = 0.82
	cvMaxFA     = 0.075
)

// TestSensitiveCues checks which rule fires on typical messages, that the
// flag is independent of the topic, and that a corruption topic is
// always sensitive.
func TestSensitiveCues(t *testing.T) {
	c := newDefault(t)
	for _, tc := range []struct {
		text string
		cue  string // a cue that must be reported; "" = not sensitive
	}{
		{"the inspector said my shop would pass only if I gave him 300 cash", "only if"},
		{"un agent de la mairie m'a demandé 200 euros en liquide pour accélérer mon permis", "agent"},
		{"they hired the mayor's nephew", "nephew"},
		{"on nous fait payer sans reçu", "sans reçu"},
		{"He wanted a backhander.", "backhander"},
		{"Il a fallu verser un POT-DE-VIN", "pot de vin"},
		{"The officer came. He said I could go if I paid him 20.", "officer"},
		{"how much is the permit fee", ""},
		{"the parking fine was 35 euros", ""},
		{"my property tax went up 200 euros", ""},
		{"le prix du ticket de bus a augmenté", ""},
		{"I waited 3 days for the inspector", ""},
		{"the school guards are paid by the city", ""}, // the official is the payer
		{"les gardiens sont payés par la mairie", ""},
	} {
		r := c.Classify(tc.text, "")
		switch {
		case tc.cue == "" && r.Sensitive:
			t.Errorf("%q: sensitive (%v), want not", tc.text, r.SensitiveCues)
		case tc.cue != "" && !slices.Contains(r.SensitiveCues, tc.cue):
			t.Errorf("%q: cues %v, want %q among them", tc.text, r.SensitiveCues, tc.cue)
		}
	}
	// A permit bribe keeps a topic of its own and is sensitive.
	r := c.Classify("the clerk at the permit office wants 50 dollars cash to process my building permit", "")
	if !r.Sensitive || r.Topic.Label == "corruption" && r.Topic.Confidence < 0.5 {
		t.Errorf("permit bribe: sensitive %v, topic %v", r.Sensitive, r.Topic)
	}
	r = c.Classify("Corruption and embezzlement at city hall", "")
	if r.Topic.Label != "corruption" || !r.Sensitive {
		t.Errorf("corruption: topic %v, sensitive %v", r.Topic, r.Sensitive)
	}
}

// TestSensitiveQuietOnCityData checks that the flag stays rare on the
// shared development data, which holds no corruption reports: at most
// 0.5 % of newport_en.csv (city requests) and 1 % of disaster_en.csv
// (disaster messages and news). Measured: 2 of 513 and 51 of 3,300
// before branch sens9b, 1 and 21 since the model's veto of weak evidence,
// 2 and 2 since session 6. It also reads testdata/sensitive_quiet_long.tsv
// (160 long lawful stories, 60–160 words, en, fr, es, pt, written by a
// helper of session 6 to hold the words of a report's telling: "said",
// "never", "the council approved"; never trained on): the model of
// branch sens9c flagged 58, the model with rounds 21–22 and ordinary city
// messages 49 (a long message's features scaled by 1/n would flag 33,
// at a cost in recall on long reports: see the long check above), 36
// since session 7's window check (TestSensitiveWindows), 35 with round 24,
// 40 with round 25 (session 10), 37 with the declined lists and round
// 26 and 34 with round 27 (session 11). The floor is the level measured:
// still too many, a known weakness. Session 10 tried 200 long lawful
// stories among the negatives (sensitive_negatives_long.tsv, not kept):
// 10 flagged, but recall on the long checks fell from 0.963 and 1.000 to
// 0.787 and 0.850 (the model learnt length); with 120 long reports as a
// round of their own too, 21 flagged and 0.887 and 0.967, the rule veto
// threshold fell to 0.02 and disaster_en messages flagged rose from 2 to
// 11; with half the stories, 16 flagged and 0.838 and 0.883.
func TestSensitiveQuietOnCityData(t *testing.T) {
	dir, err := FindSharedData(".")
	if err != nil {
		t.Skip(err)
	}
	c := newDefault(t)
	for _, f := range []struct {
		name string
		max  float64
	}{{"newport_en.csv", 0.005}, {"disaster_en.csv", 0.01}} {
		tab, err := ReadTableFile(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		texts := tab.Column("text")
		n := 0
		for _, text := range texts {
			if c.Classify(text, "").Sensitive {
				n++
			}
		}
		rate := float64(n) / float64(len(texts))
		t.Logf("%s: %d of %d flagged (%.2f %%)", f.name, n, len(texts), 100*rate)
		if len(texts) == 0 || rate > f.max {
			t.Errorf("%s: %.3f flagged, want <= %.2f", f.name, rate, f.max)
		}
	}
	long := readLabelled(t, "testdata/sensitive_quiet_long.tsv")
	n := 0
	for _, r := range long {
		if r.sensitive {
			t.Fatalf("sensitive_quiet_long.tsv holds a report: %q", r.text)
		}
		if c.Classify(r.text, "").Sensitive {
			n++
		}
	}
	t.Logf("sensitive_quiet_long.tsv: %d of %d flagged", n, len(long))
	if len(long) < 100 || float64(n) > 0.22*float64(len(long)) {
		t.Errorf("sensitive_quiet_long.tsv: %d of %d long lawful stories flagged, want at most 22 %%", n, len(long))
	}
}

// BenchmarkSensitiveModel measures the learned part of the sensitive
// detector alone (features and score, on tokens and hits already found),
// to compare with BenchmarkClassify (full tagging) per message.
func BenchmarkSensitiveModel(b *testing.B) {
	c := newDefault(b)
	texts := benchTexts(b)
	type pre struct {
		toks []token
		hits []sensHit
	}
	var ps []pre
	for _, t := range texts {
		toks, _ := tokenize(t, nil)
		_, read := c.lang.detectVotes(t, toks, "")
		_, hits := c.sens.detect(toks, c.sens.readBits(read), nil)
		ps = append(ps, pre{toks, hits})
	}
	var fs []sensFeat
	n := 0
	for i := 0; b.Loop(); i++ {
		p := &ps[i%len(ps)]
		fs = sensFeatures(p.toks, p.hits, fs)
		if c.sensModel.prob(fs) >= c.sensModel.threshold {
			n++
		}
	}
	b.ReportMetric(float64(n)/float64(b.N), "flagged/op")
}

// TestSensModelFile checks that the weights file keeps the weights (to
// the int16 quantisation), the bias and the threshold, drops pruned
// weights, and refuses damaged files.
func TestSensModelFile(t *testing.T) {
	m := &sensModel{w: make([]float32, sensDim), bias: -1.25, threshold: 0.875, evidence: 0.25, ruleVeto: 0.125}
	m.w[3], m.w[70000], m.w[sensDim-1], m.w[9] = 2.5, -0.75, 0.125, sensPrune/2
	b := m.marshal()
	got, err := unmarshalSensModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.bias != m.bias || got.threshold != m.threshold || got.evidence != m.evidence || got.ruleVeto != m.ruleVeto {
		t.Errorf("bias %v threshold %v evidence %v rule veto %v, want %v %v %v %v", got.bias, got.threshold, got.evidence, got.ruleVeto, m.bias, m.threshold, m.evidence, m.ruleVeto)
	}
	for i, w := range m.w {
		want := w
		if i == 9 {
			want = 0 // pruned
		}
		if d := got.w[i] - want; d > 1e-4 || d < -1e-4 {
			t.Errorf("w[%d] = %v, want %v", i, got.w[i], want)
		}
	}
	bad := *m
	bad.evidence = 0.9 // above the threshold
	badVeto := *m
	badVeto.ruleVeto = 0.5 // above the evidence threshold
	for name, bad := range map[string][]byte{
		"evidence":  bad.marshal(),
		"rule veto": badVeto.marshal(),
		"magic":     append([]byte("x"), b[1:]...),
		"short":     b[:len(b)-1],
		"trailing":  append(slices.Clone(b), 0),
		"empty":     nil,
	} {
		if _, err := unmarshalSensModel(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := defaultSensModel(); err != nil {
		t.Errorf("shipped weights: %v", err)
	}
}

// TestSensModelTrain checks the solver on a small problem: it converges
// (small gradient), separates the classes, and a larger penalty gives
// smaller weights.
func TestSensModelTrain(t *testing.T) {
	var ex []sensExample
	for i := 0; i < 40; i++ {
		pos := i%2 == 0
		f := []sensFeat{{idx: uint32(i % 5), val: 0.5}} // noise shared by both classes
		if pos {
			f = append(f, sensFeat{idx: 100, val: 1})
		} else {
			f = append(f, sensFeat{idx: 200, val: 1})
		}
		ex = append(ex, sensExample{feats: f, y: pos, weight: 1})
	}
	m, st, err := trainSensModel(t.Context(), ex, 0.1, 200)
	if err != nil {
		t.Fatal(err)
	}
	if st.grad > 1e-3 {
		t.Errorf("gradient norm %g after %d iterations", st.grad, st.iters)
	}
	for _, e := range ex {
		if p := m.prob(e.feats); (p >= 0.5) != e.y {
			t.Errorf("%v: p = %.3f", e.y, p)
		}
	}
	m2, _, err := trainSensModel(t.Context(), ex, 10, 200)
	if err != nil {
		t.Fatal(err)
	}
	if !(m2.w[100] > 0 && m2.w[100] < m.w[100] && m.w[200] < m2.w[200] && m2.w[200] < 0) {
		t.Errorf("penalty: w = %v %v (λ 0.1), %v %v (λ 10)", m.w[100], m.w[200], m2.w[100], m2.w[200])
	}
}

// TestSensitiveModelFlags checks the wiring: a message flagged with a
// model cue is one the rules alone do not flag and whose probability
// reaches the threshold; a message a phrase flags is flagged; a message
// another rule flags is flagged unless the model's probability is below
// the rule veto threshold; a message only the rules' evidence score
// flags (no rule) is flagged unless the model's probability is below the
// evidence threshold (the vetoes).
func TestSensitiveModelFlags(t *testing.T) {
	c := newDefault(t)
	rulesOnly := newDefault(t)
	rulesOnly.sensModel = nil
	files, err := filepath.Glob("testdata/sensitive_tune*.tsv")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	byModel, vetoed, ruleVetoed := 0, 0, 0
	for _, f := range files {
		for _, r := range readLabelled(t, f) {
			got, rules := c.Classify(r.text, ""), rulesOnly.Classify(r.text, "")
			toks, _ := tokenize(r.text, nil)
			_, read := c.lang.detectVotes(r.text, toks, "")
			_, level, hits := c.sens.detectLevel(toks, c.sens.readBits(read), nil)
			p := c.sensModel.windowedProb(sensFeatures(toks, hits, nil), windowFeatures(toks, hits))
			if rules.Sensitive != (level != sensNone) && rules.Topic.Label != corruptionTopic {
				t.Errorf("%q: rules alone %v, level %d", r.text, rules.Sensitive, level)
			}
			if rules.Sensitive && !got.Sensitive {
				switch {
				case level == sensEvidence && p < c.sensModel.evidence:
					vetoed++
				case level == sensRule && p < c.sensModel.ruleVeto:
					ruleVetoed++
				default:
					t.Errorf("%q: rules flag it (level %d, p %.3f), the detector does not", r.text, level, p)
				}
			}
			if !got.Sensitive || !strings.HasPrefix(got.SensitiveCues[0], "model ") {
				continue
			}
			byModel++
			if rules.Sensitive || p < c.sensModel.threshold {
				t.Errorf("%q: model cue %v, rules %v, p %.3f", r.text, got.SensitiveCues, rules.Sensitive, p)
			}
		}
	}
	t.Logf("%d flagged by the model alone, %d of the rules' evidence and %d of the rules vetoed", byModel, vetoed, ruleVetoed)
	if byModel == 0 || vetoed == 0 || ruleVetoed == 0 {
		t.Errorf("%d flagged by the model alone, %d evidence and %d rules vetoed: want some of each", byModel, vetoed, ruleVetoed)
	}
	if !(c.sensModel.ruleVeto > 0 && c.sensModel.ruleVeto <= c.sensModel.evidence && c.sensModel.evidence <= c.sensModel.threshold) {
		t.Errorf("rule veto threshold %v, evidence threshold %v, threshold %v", c.sensModel.ruleVeto, c.sensModel.evidence, c.sensModel.threshold)
	}
	// A phrase is never vetoed, whatever the model reads.
	r := c.Classify("the clerk printed a receipt at the counter, but only after a bribe", "")
	if !r.Sensitive || r.SensitiveCues[0] != "bribe" {
		t.Errorf("phrase: sensitive %v, cues %v", r.Sensitive, r.SensitiveCues)
	}
}

// TestSensitiveLanguageGated checks that each language's [sensitive]
// words apply only to messages in that language (plus English and
// French, read for every message): Portuguese "propina" is a bribe,
// Spanish "propina" a tip (money); Spanish "plata" is money in Spanish
// only.
func TestSensitiveLanguageGated(t *testing.T) {
	c := newDefault(t)
	r := c.Classify("o fiscal da prefeitura pediu propina para liberar o alvará", "")
	if r.Language != "pt" || !r.Sensitive {
		t.Errorf("pt bribe: language %s, sensitive %v", r.Language, r.Sensitive)
	}
	// The detector's languages and the sensitive set's are in the same
	// order (detectVotes' bits index both).
	if !slices.Equal(c.sens.langs, c.lang.langs) {
		t.Fatalf("languages %v and %v", c.sens.langs, c.lang.langs)
	}
	// An English message with one Spanish word is not read in Spanish; a
	// message no word tells the language of is read in every language.
	for _, tc := range []struct {
		text   string
		es, sw bool
	}{
		{"could you please do me a favor and call the office", false, false},
		{"por favor el agente de la oficina", true, false},
		{"polisi alisema niachiliwe nikimpa kitu kidogo", true, true},
	} {
		toks, _ := tokenize(tc.text, nil)
		_, read := c.lang.detectVotes(tc.text, toks, "")
		allow := c.sens.readBits(read)
		if es, sw := allow&c.sens.bits["es"] != 0, allow&c.sens.bits["sw"] != 0; es != tc.es || sw != tc.sw {
			t.Errorf("%q: read in es %v, sw %v; want %v, %v", tc.text, es, sw, tc.es, tc.sw)
		}
	}
	for _, tc := range []struct {
		word, lang string
		want       sensCat // the categories the word must have
		not        sensCat // and must not have
	}{
		{"plata", "en", 0, sMoney},
		{"plata", LangOther, 0, sMoney},
		{"plata", "sw", 0, sMoney},
		{"plata", "pt", 0, sMoney},
		{"plata", "es", sMoney, 0},
		{"propina", "es", sMoney, sPhrase},
		{"propina", "pt", sPhrase, 0},
		{"propina", "fr", 0, sPhrase | sMoney},
	} {
		toks, _ := tokenize("la "+tc.word, nil)
		_, hits := c.sens.detect(toks, c.sens.langBits(tc.lang), nil)
		var got sensCat
		for _, h := range hits {
			got |= h.mask
		}
		if got&tc.want != tc.want || got&tc.not != 0 {
			t.Errorf("%q in %s: categories %b, want %b and not %b", tc.word, tc.lang, got, tc.want, tc.not)
		}
	}
}

// TestSensitiveArabicForms checks that an Arabic word matches a lexicon
// entry with its prefixes (article, conjunction, preposition) and object
// pronoun removed, and only entries of three letters or more.
func TestSensitiveArabicForms(t *testing.T) {
	for _, tc := range []struct {
		tok, lex string
		want     bool
	}{
		{"أعطيته", "أعطيت", true},      // I gave him
		{"والموظف", "موظف", true},      // and the employee
		{"بالمال", "مال", true},        // with the money
		{"الوصل", "الوصل", true},       // equal
		{"موظف", "والموظف", false},     // never adds a prefix
		{"وله", "له", false},           // an entry of two letters needs the exact word
		{"employee", "employe", false}, // Latin words are never cut
	} {
		if got := stemMatches(tc.tok, tc.lex); got != tc.want {
			t.Errorf("stemMatches(%q, %q) = %v, want %v", tc.tok, tc.lex, got, tc.want)
		}
	}
	c := newDefault(t)
	r := c.Classify("موظف البلدية قال إن الرخصة تخرج بسرعة إذا أعطيته شيئا", "")
	if r.Language != "ar" || !r.Sensitive {
		t.Errorf("ar: language %s, sensitive %v", r.Language, r.Sensitive)
	}
	if r := c.Classify("كم ثمن رخصة البناء في البلدية", ""); r.Sensitive {
		t.Errorf("ar control: sensitive %v", r.SensitiveCues)
	}
}

// TestSensitiveOtherLanguages checks the plain bribe words and a direct
// report of each shipped language besides English and French, and a
// lawful fee in each.
func TestSensitiveOtherLanguages(t *testing.T) {
	c := newDefault(t)
	for _, tc := range []struct {
		lang, text string
		sensitive  bool
	}{
		{"es", "el agente de tránsito me pidió una mordida para no llevarse mi carro", true},
		{"es", "el inspector dijo que el local pasa solo si le damos 200 en efectivo", true},
		{"es", "pagué la multa de 500 pesos en el banco y me dieron el recibo", false},
		{"pt", "o guarda pediu propina pra não multar", true},
		{"pt", "o fiscal disse que a obra só passa se a gente der um agrado pra ele", true},
		{"pt", "paguei a taxa de 80 reais no banco, com recibo", false},
		{"ar", "طلب الموظف رشوة لتسريع ملفي", true},
		{"ar", "الشرطي طلب مني مئة دينار حتى لا يكتب المخالفة", true},
		{"ar", "دفعت رسوم الرخصة في البلدية وأخذت الوصل", false},
		{"sw", "afisa wa ardhi aliomba rushwa ili anipe hati", true},
		{"sw", "polisi alisema niachiliwe nikimpa kitu kidogo", true},
		{"sw", "nililipa ada ya leseni benki nikapewa risiti", false},
	} {
		// tc.lang is the message's language, which detection may miss on
		// short messages: its words are read anyway (detectVotes).
		if r := c.Classify(tc.text, ""); r.Sensitive != tc.sensitive {
			t.Errorf("%s %q: sensitive %v %v, want %v (detected %s)", tc.lang, tc.text, r.Sensitive, r.SensitiveCues, tc.sensitive, r.Language)
		}
	}
}

// windowFeatures is the model's features of each window of two sentences
// of a message of three sentences or more (none for a shorter one).
func windowFeatures(toks []token, hits []sensHit) [][]sensFeat {
	var wins [][]sensFeat
	sentenceWindows(toks, hits, nil, func(wt []token, wh []sensHit) {
		wins = append(wins, sensFeatures(wt, wh, nil))
	})
	return wins
}

// TestSentenceWindows: each window is two consecutive sentences, its hits
// those wholly within it with positions relative to it; a message of one
// or two sentences has none.
func TestSentenceWindows(t *testing.T) {
	c := newDefault(t)
	for _, tc := range []struct {
		text string
		want []string // each window's first and last token, and its hits' words
	}{
		{"The clerk asked me for 200 in cash.", nil},
		{"We went to the office. The clerk asked me for 200 in cash.", nil},
		{"We went to the office. The clerk asked me for 200 in cash. We paid it.",
			[]string{"we…cash hits [went,office,clerk,asked,200,cash]", "the…it hits [clerk,asked,200,cash,paid]"}},
		{"First. Second one. Third. Fourth!", []string{"first…one hits []", "second…third hits []", "third…fourth hits []"}},
	} {
		toks, _ := tokenize(tc.text, nil)
		_, read := c.lang.detectVotes(tc.text, toks, "")
		_, _, hits := c.sens.detectLevel(toks, c.sens.readBits(read), nil)
		var got []string
		sentenceWindows(toks, hits, nil, func(wt []token, wh []sensHit) {
			var words []string
			for _, h := range wh {
				if h.first < 0 || h.end > len(wt) || h.first >= h.end {
					t.Fatalf("%q: hit %+v outside its window of %d tokens", tc.text, h, len(wt))
				}
				words = append(words, wt[h.first].stem)
			}
			got = append(got, fmt.Sprintf("%s…%s hits [%s]", wt[0].stem, wt[len(wt)-1].stem, strings.Join(words, ",")))
		})
		if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
			t.Errorf("%q: windows\n%s\nwant\n%s", tc.text, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

// TestSensitiveWindows: a long lawful story whose words lean a little
// toward a report, message-wide, is not flagged when no window of two of
// its sentences reads as one. When it came in, the window took away 13
// of the 49 flags on sensitive_quiet_long.tsv and 5 of the 31 false
// alarms of sensitive_long_check.tsv, and none of its 73 reports caught;
// only where the whole message reached its cut and no window did; it
// never adds a flag.
func TestSensitiveWindows(t *testing.T) {
	c := newDefault(t)
	lowered := 0
	for _, f := range []string{"testdata/sensitive_quiet_long.tsv", "testdata/sensitive_long_check.tsv"} {
		for _, r := range readLabelled(t, f) {
			toks, _ := tokenize(r.text, nil)
			_, read := c.lang.detectVotes(r.text, toks, "")
			_, level, hits := c.sens.detectLevel(toks, c.sens.readBits(read), nil)
			if level == sensPhrase {
				continue
			}
			whole := c.sensModel.prob(sensFeatures(toks, hits, nil))
			wins := windowFeatures(toks, hits)
			p := c.sensModel.windowedProb(sensFeatures(toks, hits, nil), wins)
			got := c.Classify(r.text, "").Sensitive
			if got != (p >= c.sensModel.cut(level)) {
				t.Errorf("%q: flagged %v, windowed p %.3f, cut %.3f", r.text, got, p, c.sensModel.cut(level))
			}
			if p > whole {
				t.Errorf("%q: windowed p %.3f above the whole message's %.3f", r.text, p, whole)
			}
			if whole >= c.sensModel.cut(level) && !got {
				if len(wins) == 0 {
					t.Errorf("%q: not flagged at p %.3f with no window", r.text, whole)
				}
				if !r.sensitive {
					lowered++
				}
			}
		}
	}
	t.Logf("%d lawful long stories no longer flagged for want of a window", lowered)
	if lowered == 0 {
		t.Error("no long lawful story was kept unflagged by its windows: the window check does nothing on these sets")
	}
}

// TestSensitiveDeclined checks the rules' reading of a demand denied or a
// gift refused (the [sensitive] declined lists) and of where a payee
// stands: each lawful message beside a twin that the same rules flag.
func TestSensitiveDeclined(t *testing.T) {
	c := newDefault(t)
	c.sensModel = nil // the rules alone
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"The hospital porter carried my bags and I gave him 500 taka afterwards, he hadn't asked for anything.", false},
		{"The hospital porter carried my bags and I gave him 500 taka before he would let us in.", true},
		{"Au poste de contrôle les gendarmes ont vérifié les papiers, personne n'a rien payé.", false},
		{"Au poste de contrôle les gendarmes ont fait payer 2000 à chacun, sans reçu.", true},
		{"Le douanier a refusé la bouteille que je voulais lui offrir et m'a envoyé payer les droits à la banque.", false},
		{"Le douanier a exigé une bouteille et 10 000 francs pour me laisser passer, sans reçu.", true},
		// a denial does not clear a condition or a missing receipt
		{"The inspector didn't ask for money directly, but said the file moves only if I give him something.", true},
		{"Le policier ne m'a rien demandé mais son collègue a pris 5000 sans reçu.", true},
		// "them" before the verb is another verb's object; "lui" is the payee
		{"The health inspector found two problems. I fixed them and paid the 300,000 shilling re-inspection fee.", false},
		{"L'agent de la mairie m'a reçu et je lui ai donné 5000 pour le tampon.", true},
		// "20k" is an amount; "au lieu de" alone is no condition
		{"the school head is asking 20k for the admission form that is supposed to be free", true},
		{"the school head says the admission form is free this year", false},
		{"Le timbre est passé à 110 000 au lieu de 75 000 à la mairie, c'est officiel ?", false},
		{"L'agent de la mairie m'a demandé 20 000 au lieu d'une amende, sans reçu.", true},
	} {
		if got := c.Classify(tc.text, "").Sensitive; got != tc.want {
			t.Errorf("%q: rules flag %v, want %v", tc.text, got, tc.want)
		}
	}
	for w, want := range map[string]bool{"20k": true, "5k": true, "k": false, "20": false, "k20": false, "2ok": false, "20km": false} {
		if thousands(w) != want {
			t.Errorf("thousands(%q) = %v, want %v", w, !want, want)
		}
	}
	if !payeeAt("lui", -2) || payeeAt("them", -2) || !payeeAt("them", 1) || payeeAt("him", 5) {
		t.Error("payeeAt: a clitic may stand before the verb, any payee up to 4 words after it")
	}
}
