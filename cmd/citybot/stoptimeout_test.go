package main

import (
	"testing"
	"time"
)

// TestBotStopOutlastsHandler guards the shutdown order: a platform's stop
// must wait longer than the longest handler call it lets finish (the
// Telegram HandlerTimeout serve passes, Discord's default ShutdownGrace of
// 10 s), else the database is closed under a running handler.
func TestBotStopOutlastsHandler(t *testing.T) {
	const discordShutdownGrace = 10 * time.Second
	for name, handler := range map[string]time.Duration{"telegram": botHandlerTimeout, "discord": discordShutdownGrace} {
		if stopBotTimeout < handler+time.Second {
			t.Errorf("%s: stop timeout %s leaves no margin over the handler's %s", name, time.Duration(stopBotTimeout), handler)
		}
	}
}
