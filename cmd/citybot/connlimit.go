//go:build unix

package main

import "syscall"

// descriptorReserve is how many open files the automatic connection limit
// leaves for everything but incoming HTTP connections: the database and
// its WAL, the platforms' HTTP and gateway clients, the sandbox emulators,
// the model and log files.
const descriptorReserve = 256

// autoMaxConnections is the connection limit when [http] max_connections
// is 0: the soft open-file limit less descriptorReserve, between 16 and
// 4096.
func autoMaxConnections() int {
	var rl syscall.Rlimit
	n := 1024
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur < 1<<30 {
		n = int(rl.Cur)
	}
	return min(4096, max(16, n-descriptorReserve))
}
