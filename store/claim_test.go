package store

import (
	"context"

	"citybot"
)

// claimOutbox claims the heads of the outbox's queues as the Dispatcher
// does: it reads them (OutboxHeads), then claims those rows by id
// (ClaimOutboxIDs).
func claimOutbox(ctx context.Context, db *DB, platforms []citybot.Platform, limit int) ([]citybot.OutboxItem, error) {
	heads, err := db.OutboxHeads(ctx, platforms, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]citybot.OutboxID, len(heads))
	for i, h := range heads {
		ids[i] = h.ID
	}
	return db.ClaimOutboxIDs(ctx, testInstance, ids)
}

// testInstance is the claimer of the rows the store's tests claim: a
// process without a heartbeat, as after its death.
const testInstance = "test-instance"
