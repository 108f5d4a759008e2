package main

import (
	"slices"
	"strings"
	"testing"

	"citybot"
)

// TestSensitiveReadersConfig: [web] sensitive_readers takes roles and
// account names, defaults to admin, and refuses an empty list or a
// malformed entry.
func TestSensitiveReadersConfig(t *testing.T) {
	roles, names := DefaultConfig().Web.SensitiveReaderSets()
	if !slices.Equal(roles, []citybot.Role{citybot.RoleAdmin}) || len(names) != 0 {
		t.Errorf("default: %v %v", roles, names)
	}
	cfg, err := LoadConfig(writeConfig(t, "[web]\nsensitive_readers = [\"admin\", \"olga\", \"official\"]\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	roles, names = cfg.Web.SensitiveReaderSets()
	if !slices.Equal(roles, []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficial}) || !slices.Equal(names, []string{"olga"}) {
		t.Errorf("split: %v %v", roles, names)
	}
	for _, bad := range []string{`[]`, `["-bad name"]`} {
		_, err := LoadConfig(writeConfig(t, "[web]\nsensitive_readers = "+bad+"\n"), envMap(nil))
		if err == nil || !strings.Contains(err.Error(), "web.sensitive_readers") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
