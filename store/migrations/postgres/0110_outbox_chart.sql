-- 0110_outbox_chart (PostgreSQL twin): a digest's chart is an outbox row
-- of kind 'chart' naming its week. No backfill: no PostgreSQL database
-- held older chart rows.
ALTER TABLE outbox ADD COLUMN chart_week TEXT NOT NULL DEFAULT '';
