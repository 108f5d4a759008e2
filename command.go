package citybot

import (
	"slices"
	"strings"
	"unicode"
)

// citizenCommands are the commands a citizen may give, the same on every
// platform.
var citizenCommands = []string{"start", "help", "status", "language", "report", "mydata", "forget"}

// CitizenCommands returns the commands citizens may give on every
// platform, typed ("/status K7M4QX") or, where a platform has them, as
// its own commands (Discord's slash commands, which must be among these).
// A command citybot does not know is answered with the help, on every
// platform. A new slice each call.
func CitizenCommands() []string { return slices.Clone(citizenCommands) }

// IsCitizenCommand reports whether name (lower case, without its slash)
// is one of CitizenCommands.
func IsCitizenCommand(name string) bool { return slices.Contains(citizenCommands, name) }

// maxCommandName is the longest command name, as Telegram counts it.
const maxCommandName = 32

// ParseCommand reads a command typed at the start of a message: white
// space, a slash, a name of 1 to 32 ASCII letters, digits and
// underscores, optionally "@" and the bot it is for, then the arguments
// after white space. "/Status@CityBot K7M4QX" gives ("status", "CityBot",
// "K7M4QX", true). Every such name is a command, known or not (see
// CitizenCommands); text that merely starts with a slash ("/r/city is
// great", "/ 5th street") is not one. Every adapter reads typed commands
// with it, so that the same text is a command on every platform.
func ParseCommand(text string) (name, to, args string, ok bool) {
	t := strings.TrimLeftFunc(text, unicode.IsSpace)
	if !strings.HasPrefix(t, "/") {
		return "", "", "", false
	}
	first, rest := t[1:], ""
	if i := strings.IndexFunc(first, unicode.IsSpace); i >= 0 {
		first, rest = first[:i], first[i:]
	}
	name, to, _ = strings.Cut(first, "@")
	if name == "" || len(name) > maxCommandName {
		return "", "", "", false
	}
	for _, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", "", "", false
		}
	}
	return strings.ToLower(name), to, strings.TrimSpace(rest), true
}
