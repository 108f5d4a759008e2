// Package accountability holds what citybot does on its own schedule to
// keep the city accountable: the weekly digest (drafted, approved by an
// official, posted through the outbox, with its chart), the reminders of
// unanswered cases, the alerts of critical cases to the officers' chats
// and their escalations, the "Is it fixed?" follow-ups and the data
// retention. Its Digester's and Alerter's methods are the scheduler's
// jobs and the handlers of their buttons.
//
// It declares the small interfaces it needs (DigestStore, AlertStore); it
// imports no concrete store or adapter. The chat texts it shares with the
// pipeline come from package responder.
package accountability
