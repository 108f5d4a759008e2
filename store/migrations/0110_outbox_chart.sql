-- 0110_outbox_chart: a digest's chart is an outbox row of its own kind,
-- 'chart', that names the week of the approved digest whose chart the
-- dispatcher sends as an image (its text is the caption); '' for every
-- other row. Chart rows queued before this kind existed (kind 'notice',
-- key digest:WEEK:PLATFORM:CHAT:LANG:chart) become chart rows, so that
-- none still waiting is sent as a bare caption.
ALTER TABLE outbox ADD COLUMN chart_week TEXT NOT NULL DEFAULT '';
UPDATE outbox SET kind = 'chart', chart_week = substr(key, 8, instr(substr(key, 8), ':') - 1)
	WHERE kind = 'notice' AND key LIKE 'digest:%:chart' AND instr(substr(key, 8), ':') > 1;
