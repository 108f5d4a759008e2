//go:build !unix

package main

// descriptorReserve: see connlimit.go.
const descriptorReserve = 256

// autoMaxConnections has no open-file limit to read here: 1024 less the
// reserve.
func autoMaxConnections() int { return 1024 - descriptorReserve }
