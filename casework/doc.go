// Package casework carries officers' actions on cases to the citizens:
// answers, status changes and merges are stored with their notices, in
// each citizen's language, through the outbox on the case's platform (in
// private for a sensitive case opened in a group).
//
// Statements (statements.go) send the holding statements officials
// approved in advance: to every citizen following a case, each in their
// language, and, when asked, to the city's public channels, once per form
// nonce.
//
// It declares the small interfaces it needs (OfficerStore,
// StatementStore); it imports no
// concrete store or adapter. The chat texts it shares with the pipeline
// come from package responder.
package casework
