// Package accountability holds what citybot does on its own schedule to
// keep the city accountable: the weekly digest (drafted, approved by an
// official, posted through the outbox, with its chart), the reminders of
// unanswered cases, the alerts of critical cases to the officers' chats
// and their escalations, the "Is it fixed?" follow-ups and the data
// retention. Its Digester's and Alerter's methods are the scheduler's
// jobs and the handlers of their buttons.
//
// A digest's public post that the platform refuses for good is announced
// once to the officials' chat (PostFailedAlert, queued by a store that
// offers SetFailureFollowup in the transaction recording the failure).
// Each channel is posted the chart in its own language. Promised dates
// moved to a later date are counted in the week of the move, and one
// moved after its day was over also counts as missed on that day.
//
// The surge warning (Surger, surge.go) compares each topic's reports of
// the last hour, per place and in the whole city, with the usual count
// for that hour of the week (CountSurges, SurgeRule) and alerts the
// officers' chats of the Alerter once per surge, quiet for a while after.
//
// It declares the small interfaces it needs (DigestStore, AlertStore,
// SurgeStore); it
// imports no concrete store or adapter. The chat texts it shares with the
// pipeline come from package responder.
package accountability
