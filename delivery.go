package citybot

// OutboxUnknown is the terminal state of an outbox row whose send was
// interrupted by a crash on a platform that cannot recognise a repeat
// (Telegram): the platform may or may not have delivered it, and citybot
// does not send it again, so that the citizen never gets it twice. The
// row's case keeps its status (an acknowledgement in this state leaves
// the case new), so that an officer sees it. Rows given up this way count
// as failed in OutboxStats.
const OutboxUnknown OutboxState = "unknown"
