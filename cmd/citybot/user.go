package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"citybot"
	"citybot/store"
	"citybot/web"
)

// userUsage is the help of "citybot user".
const userUsage = `Usage:
  citybot [--config PATH] user add [--role ROLE] [--db PATH] NAME
  citybot [--config PATH] user disable|enable|passwd|unlock|revoke|totp-reset [--db PATH] NAME
  citybot [--config PATH] user role [--db PATH] NAME ROLE

Manages the staff accounts of the officer console. ROLE is admin, officer
(the default) or official.

  add      creates an account.
  disable  refuses the account's sign-ins and ends its sessions at once.
  enable   lets a disabled account sign in again.
  passwd   sets a new password and ends the account's sessions.
  unlock   clears the account's count of wrong passwords and the sign-in
           delay its name has from new browsers (nothing locks an account).
  role     gives the account another role.
  revoke   ends every session of the account (signed out everywhere).
  totp-reset
           removes the account's one-time codes and recovery codes (a lost
           or changed phone) and ends its sessions; an admin or official
           sets up new codes at the next sign-in.

The last enabled admin can be neither disabled nor given another role.
For add and passwd the password is read from the first line of standard
input when it is piped in (12 to 72 characters); otherwise one is
generated and printed once. Only a bcrypt hash is stored. Every change is
in the audit log, done by "cli".

  echo 'a long passphrase here' | citybot user add --role officer olivia
  citybot user add --role admin root      # prints a generated password
  citybot user passwd olivia              # prints a generated password
  citybot user role olivia admin
`

// userSubcommands are the words after "citybot user".
var userSubcommands = []string{"add", "disable", "enable", "passwd", "unlock", "role", "revoke", "totp-reset"}

// runUser runs "citybot user ARGS". The database is --db PATH; the
// command table passes [store] path from the configuration there. It
// returns an error wrapping citybot.ErrInvalid for bad arguments,
// citybot.ErrDuplicate when add's name is taken and citybot.ErrNotFound
// for an unknown account.
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, userUsage)
		if len(args) == 0 {
			return fmt.Errorf("user: %w: missing subcommand (%s)", citybot.ErrInvalid, strings.Join(userSubcommands, ", "))
		}
		return nil
	}
	sub := args[0]
	if !slices.Contains(userSubcommands, sub) {
		return fmt.Errorf("user: %w: unknown subcommand %q (want %s)", citybot.ErrInvalid, sub, strings.Join(userSubcommands, ", "))
	}
	fs := flag.NewFlagSet("citybot user "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := new(string)
	if sub == "add" {
		role = fs.String("role", string(citybot.RoleOfficer), "admin, officer or official")
	}
	dbPath := fs.String("db", "", "database file ([store] path), or "+postgresDB+" for CITYBOT_DATABASE_URL")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, userUsage)
			return nil
		}
		return fmt.Errorf("user %s: %w: %v", sub, citybot.ErrInvalid, err)
	}
	want := 1
	if sub == "role" {
		want = 2
	}
	if fs.NArg() != want {
		if want == 2 {
			return fmt.Errorf("user role: %w: give the account NAME and its new ROLE after the flags", citybot.ErrInvalid)
		}
		return fmt.Errorf("user %s: %w: give exactly one account NAME after the flags", sub, citybot.ErrInvalid)
	}
	if *dbPath == "" {
		return fmt.Errorf("user %s: %w: no database path", sub, citybot.ErrInvalid)
	}
	name := fs.Arg(0)
	if sub == "add" {
		if err := citybot.CheckAccountName(name); err != nil {
			return fmt.Errorf("user add: %w", err)
		}
	}
	if sub == "role" {
		*role = fs.Arg(1)
	}
	r := citybot.Role(*role)
	if (sub == "add" || sub == "role") && !r.Valid() {
		return fmt.Errorf("user %s: %w: unknown role %q (admin, officer or official)", sub, citybot.ErrInvalid, *role)
	}
	var password, hash string
	generated := false
	if sub == "add" || sub == "passwd" {
		var err error
		if password, generated, err = readPassword(stdin); err != nil {
			return fmt.Errorf("user %s: %w", sub, err)
		}
		if hash, err = web.HashPassword(password); err != nil {
			return fmt.Errorf("user %s: %w", sub, err)
		}
	}
	db, err := openStoreAt(ctx, *dbPath, getenv, store.Options{})
	if err != nil {
		return fmt.Errorf("user %s: %w", sub, err)
	}
	defer db.Close()
	const actor = "cli"
	switch sub {
	case "add":
		a, err := db.CreateAccount(ctx, name, r, hash, actor)
		if err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(stdout, "Created %s account %q.\n", a.Role, a.Name)
		if a.Role.RequiresTOTP() {
			fmt.Fprintf(stdout, "At the first sign-in, %q sets up one-time codes with an authenticator app (asked by the console).\n", a.Name)
		}
	case "disable", "enable":
		if _, err := db.SetAccountDisabled(ctx, name, sub == "disable", actor); err != nil {
			return refusal(sub, err)
		}
		fmt.Fprintf(stdout, "Account %q %sd.\n", name, sub)
	case "passwd":
		if err := db.SetAccountPassword(ctx, name, hash, actor); err != nil {
			return refusal(sub, err)
		}
		fmt.Fprintf(stdout, "Password of %q changed; its sessions are ended.\n", name)
	case "unlock":
		if err := db.UnlockAccount(ctx, name, actor); err != nil {
			return refusal(sub, err)
		}
		fmt.Fprintf(stdout, "Failed sign-ins of %q cleared.\n", name)
	case "role":
		if _, err := db.SetAccountRole(ctx, name, r, actor); err != nil {
			return refusal(sub, err)
		}
		fmt.Fprintf(stdout, "Account %q is now %s.\n", name, r)
	case "revoke":
		n, err := db.RevokeSessions(ctx, name, actor)
		if err != nil {
			return refusal(sub, err)
		}
		fmt.Fprintf(stdout, "Ended %d session(s) of %q.\n", n, name)
	case "totp-reset":
		a, err := db.ResetTOTP(ctx, name, actor)
		if err != nil {
			return refusal(sub, err)
		}
		fmt.Fprintf(stdout, "One-time codes of %q removed; its sessions are ended.\n", name)
		if a.Role.RequiresTOTP() {
			fmt.Fprintf(stdout, "As %s, %q sets up new codes at the next sign-in.\n", a.Role, name)
		}
	}
	if generated {
		fmt.Fprintf(stdout, "Password (shown only now; store it safely): %s\n", password)
	}
	return nil
}

// refusal wraps a store error of a lifecycle subcommand. A rule the
// account breaks (the last admin) is a refusal, not a usage error: it
// keeps its text but not citybot.ErrInvalid, so the exit status is 1.
func refusal(sub string, err error) error {
	if errors.Is(err, citybot.ErrInvalid) {
		return fmt.Errorf("user %s: refused: %s", sub, strings.TrimPrefix(err.Error(), "store: "))
	}
	return fmt.Errorf("user %s: %w", sub, err)
}

// readPassword reads the first line of stdin when it is not a terminal;
// with nothing there it generates one.
func readPassword(stdin io.Reader) (password string, generated bool, err error) {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return web.GeneratePassword(), true, nil
		}
	}
	if stdin != nil {
		line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read password: %w", err)
		}
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			return line, false, nil
		}
	}
	return web.GeneratePassword(), true, nil
}
