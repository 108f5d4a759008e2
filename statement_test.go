package citybot

import (
	"slices"
	"testing"
)

// TestSurgeOverlaps: two surges of a topic are the same burst when they
// share a place, or when one counts the whole city and the earlier
// one's main case is among the later one's cases.
func TestSurgeOverlaps(t *testing.T) {
	old := Surge{Topic: "water", Keys: []string{SurgeCityWide}, Case: 7}
	for _, tt := range []struct {
		name string
		s    Surge
		old  Surge
		want bool
	}{
		{"same place", Surge{Topic: "water", Keys: []string{"mill lane"}}, Surge{Topic: "water", Keys: []string{"mill lane", "oak street"}}, true},
		{"other topic", Surge{Topic: "roads", Keys: []string{"mill lane"}}, Surge{Topic: "water", Keys: []string{"mill lane"}}, false},
		{"other place", Surge{Topic: "water", Keys: []string{"oak street"}, Roots: []CaseID{7}}, Surge{Topic: "water", Keys: []string{"mill lane"}, Case: 7}, false},
		{"city, same main case", Surge{Topic: "water", Keys: []string{"mill lane"}, Roots: []CaseID{3, 7}}, old, true},
		{"city, other cases", Surge{Topic: "water", Keys: []string{"oak street"}, Roots: []CaseID{3, 4}}, old, false},
		{"now city-wide", Surge{Topic: "water", Keys: []string{SurgeCityWide}, Roots: []CaseID{9}}, Surge{Topic: "water", Keys: []string{"mill lane"}, Case: 9}, true},
	} {
		if got := tt.s.Overlaps(tt.old); got != tt.want {
			t.Errorf("%s: Overlaps = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestStatementBlanks: blanks in order of first appearance, {ref} left
// to citybot; filling leaves unknown blanks as written.
func TestStatementBlanks(t *testing.T) {
	got := StatementBlanks("Water cut in {place} ({ref}). Next update by {time}.", "Coupure à {place}, point à {time} {Bad} {x y}.")
	if !slices.Equal(got, []string{"place", "time"}) {
		t.Errorf("blanks = %v", got)
	}
	if s := FillStatement("In {place} by {time} ({ref}).", map[string]string{"place": "Mill Lane", "ref": "ABC123"}); s != "In Mill Lane by {time} (ABC123)." {
		t.Errorf("filled = %q", s)
	}
}
