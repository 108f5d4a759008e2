package citybot_test

import (
	"testing"

	"citybot"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in, name, to, args string
		ok                 bool
	}{
		{"/status K7M4QX", "status", "", "K7M4QX", true},
		{"  /Report  water leak on 5th  ", "report", "", "water leak on 5th", true},
		{"/help", "help", "", "", true},
		{"/language\nfr", "language", "", "fr", true},
		{"/Help@CityHallBot", "help", "CityHallBot", "", true},
		{"/start@OtherBot now", "start", "OtherBot", "now", true},
		{"/unknown x", "unknown", "", "x", true}, // answered with the help
		{"/r/city is cool", "", "", "", false},
		{"/ 5th street is flooded", "", "", "", false},
		{"/ça va", "", "", "", false},
		{"/" + string(make([]byte, 33)), "", "", "", false},
		{"status K7M4QX", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		name, to, args, ok := citybot.ParseCommand(tt.in)
		if name != tt.name || to != tt.to || args != tt.args || ok != tt.ok {
			t.Errorf("ParseCommand(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tt.in, name, to, args, ok, tt.name, tt.to, tt.args, tt.ok)
		}
	}
	for _, c := range citybot.CitizenCommands() {
		if name, _, _, ok := citybot.ParseCommand("/" + c); !ok || name != c || !citybot.IsCitizenCommand(name) {
			t.Errorf("/%s is not read as itself", c)
		}
	}
	if citybot.IsCitizenCommand("unknown") || citybot.IsCitizenCommand("") {
		t.Error("unknown commands are citizen commands")
	}
}
