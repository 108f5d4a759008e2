package responder_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"citybot/responder"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	rg := newRig(t, rigOptions{noRun: true, opts: responder.Options{Registerer: reg}, dopts: responder.DispatcherOptions{Registerer: reg}})
	m := privateMsg("u1", 1, "pothole")
	rg.bot.script[m.Chat] = []sendResult{{errors.New("503")}}
	rg.handle(m)
	rg.handle(m) // a redelivery still counts as received
	rg.handle(privateMsg("u1", 2, "and more"))
	rg.start()
	rg.drain()
	rg.d.Stop()
	want := `
# HELP citybot_cases_opened_total Cases opened, by platform.
# TYPE citybot_cases_opened_total counter
citybot_cases_opened_total{platform="telegram"} 1
# HELP citybot_messages_received_total Citizen messages received, by platform.
# TYPE citybot_messages_received_total counter
citybot_messages_received_total{platform="telegram"} 3
# HELP citybot_outbox_send_failures_total Failed sends, by platform and kind (throttled, transient, permanent).
# TYPE citybot_outbox_send_failures_total counter
citybot_outbox_send_failures_total{kind="transient",platform="telegram"} 1
# HELP citybot_outbox_sent_total Messages sent, by platform.
# TYPE citybot_outbox_sent_total counter
citybot_outbox_sent_total{platform="telegram"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"citybot_cases_opened_total", "citybot_messages_received_total", "citybot_outbox_send_failures_total", "citybot_outbox_sent_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "citybot_classification_seconds", "citybot_outbox_depth", "citybot_outbox_oldest_pending_seconds"); n != 3 {
		t.Errorf("%d gauge/histogram series, want 3", n)
	}
	// A second responder on the same registry fails clearly.
	if _, err := responder.New(responder.Options{Store: rg.db, Classifier: fakeClassifier{}, Registerer: reg, Policy: testPolicy(t)}); err == nil {
		t.Error("double registration accepted")
	}
}
