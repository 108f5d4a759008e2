package accountability

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"citybot"
)

// promiseReminders bounds the reminders about one promised date.
const promiseReminders = 30

// RemindPromises queues one reminder to the officers' chat listing the
// open cases whose promised date (Case.ExpectedBy) passed, that is whose
// day ended in the city's time zone, then again one, two, four… days after
// the reminder before (a backoff), until the case is resolved or closed or
// its date changes (a new date starts over). Sensitive cases are listed
// by reference only. Each reminder is recorded with its outbox rows in
// one transaction, so a restart or a double run sends nothing twice. It
// returns how many cases it listed.
func (d *Digester) RemindPromises(ctx context.Context) (int, error) {
	if d.officers == (Channel{}) {
		return 0, nil
	}
	now := d.now()
	cands, err := d.store.OverduePromises(ctx, now, 500)
	if err != nil {
		return 0, fmt.Errorf("accountability: remind promises: %w", err)
	}
	lang := d.officersLanguage()
	t, cat := d.texts[lang], d.catalogs[lang]
	levels := citybot.ServiceLevels{Location: d.loc}
	var lines []string
	times := map[citybot.CaseID]int{}
	var first citybot.CaseID
	for _, tg := range cands {
		c := tg.Case
		if c.ExpectedBy == nil || tg.Reminded >= promiseReminders {
			continue
		}
		due := levels.PromiseDue(*c.ExpectedBy)
		if now.Before(due) {
			continue
		}
		if tg.Reminded > 0 && now.Before(tg.LastReminded.Add(24*time.Hour<<(tg.Reminded-1))) {
			continue
		}
		if first == 0 {
			first = c.ID
		}
		times[c.ID] = tg.Reminded + 1
		lines = append(lines, fill(t.PromiseDueLine, "ref", string(c.Ref), "topic", d.listedTopic(cat, c), "urgency", string(c.Urgency),
			"date", c.ExpectedBy.UTC().Format("2006-01-02"), "late", t.duration(now.Sub(due)), "times", strconv.Itoa(tg.Reminded+1)))
	}
	if len(lines) == 0 {
		return 0, nil
	}
	n, err := d.queueReminder(fmt.Sprintf("promise:%d:%d", now.Unix(), first), fill(t.PromiseDue, "n", strconv.Itoa(len(lines))), lines,
		func(items []citybot.OutboxItem) (int, error) {
			return d.store.RecordPromiseReminders(ctx, times, items)
		})
	if err != nil {
		return 0, fmt.Errorf("accountability: remind promises: %w", err)
	}
	return n, nil
}
