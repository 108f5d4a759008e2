package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"citybot"
	"citybot/store"
	"citybot/web"
)

// userUsage is the help of "citybot user".
const userUsage = `Usage:
  citybot [--config PATH] user add [--role ROLE] [--db PATH] NAME

Creates a staff account for the officer console. ROLE is admin, officer
(the default) or official. The password is read from the first line of
standard input when it is piped in (12 to 72 characters); otherwise one is
generated and printed once. Only a bcrypt hash is stored.

  echo 'a long passphrase here' | citybot user add --role officer olivia
  citybot user add --role admin root      # prints a generated password
`

// runUser runs "citybot user ARGS". The database is --db PATH; the
// command table passes [store] path from the configuration there. It
// returns an error wrapping citybot.ErrInvalid for bad arguments and
// citybot.ErrDuplicate when the name is taken.
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, userUsage)
		if len(args) == 0 {
			return fmt.Errorf("user: %w: missing subcommand (add)", citybot.ErrInvalid)
		}
		return nil
	}
	if args[0] != "add" {
		return fmt.Errorf("user: %w: unknown subcommand %q (want add)", citybot.ErrInvalid, args[0])
	}
	fs := flag.NewFlagSet("citybot user add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", string(citybot.RoleOfficer), "admin, officer or official")
	dbPath := fs.String("db", "", "database file ([store] path)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, userUsage)
			return nil
		}
		return fmt.Errorf("user add: %w: %v", citybot.ErrInvalid, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("user add: %w: give exactly one account NAME after the flags", citybot.ErrInvalid)
	}
	if *dbPath == "" {
		return fmt.Errorf("user add: %w: no database path", citybot.ErrInvalid)
	}
	if err := citybot.CheckAccountName(fs.Arg(0)); err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	r := citybot.Role(*role)
	if !r.Valid() {
		return fmt.Errorf("user add: %w: unknown role %q (admin, officer or official)", citybot.ErrInvalid, *role)
	}
	password, generated, err := readPassword(stdin)
	if err != nil {
		return err
	}
	hash, err := web.HashPassword(password)
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	db, err := store.Open(ctx, *dbPath, store.Options{})
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	defer db.Close()
	a, err := db.CreateAccount(ctx, fs.Arg(0), r, hash, "cli")
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	fmt.Fprintf(stdout, "Created %s account %q.\n", a.Role, a.Name)
	if generated {
		fmt.Fprintf(stdout, "Password (shown only now; store it safely): %s\n", password)
	}
	return nil
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
			return "", false, fmt.Errorf("user add: read password: %w", err)
		}
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			return line, false, nil
		}
	}
	return web.GeneratePassword(), true, nil
}
