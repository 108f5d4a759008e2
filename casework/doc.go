// Package casework carries officers' actions on cases to the citizens:
// answers, status changes and merges are stored with their notices, in
// each citizen's language, through the outbox on the case's platform (in
// private for a sensitive case opened in a group).
//
// It declares the small interface it needs (OfficerStore); it imports no
// concrete store or adapter. The chat texts it shares with the pipeline
// come from package responder.
package casework
