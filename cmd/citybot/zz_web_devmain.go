// Temporary entry point of the web branch, so that cmd/citybot builds
// here before it meets the cmd branch. The lead deletes this file when
// merging (the cmd branch has the real main and wires runUser).

package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "user" {
		fmt.Fprintln(os.Stderr, "web branch: only 'citybot user add --db PATH [--role ROLE] NAME' is wired here")
		os.Exit(2)
	}
	if err := runUser(context.Background(), os.Args[2:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "citybot:", err)
		os.Exit(1)
	}
}
