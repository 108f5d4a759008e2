package citybot

// Scored is a label with the model's confidence in [0,1].
type Scored struct {
	Label      string
	Confidence float64
}

// Span is a half-open byte range [Start, End) in a message's text.
type Span struct {
	Start, End int
}

// Place is a place a message mentions.
type Place struct {
	Name string
	Kind string // "street", "neighbourhood", "landmark", "place"
	Span Span
}

// PersonalKind is a kind of personal data found in a text.
type PersonalKind string

// Kinds of personal data that public output must redact.
const (
	PersonName    PersonalKind = "person"
	PersonPhone   PersonalKind = "phone"
	PersonEmail   PersonalKind = "email"
	PersonPlate   PersonalKind = "plate"
	PersonAddress PersonalKind = "address"
)

// PersonalSpan marks personal data in a text.
type PersonalSpan struct {
	Kind PersonalKind
	Span Span
}

// Classification is what the classifier understood of a message. It is a
// pure function of the text, the language hint and the model.
type Classification struct {
	Topic        Scored   // best topic; "other" with low confidence when unsure
	Alternatives []Scored // next best topics, best first
	Urgency      Urgency
	// UrgencyConfidence is the model's confidence in Urgency, in [0,1].
	UrgencyConfidence float64
	// UrgencyScore in [0,1]: higher is more urgent. The inbox sorts by it.
	UrgencyScore float64
	// UrgencyCues are the words or rules that decided the urgency, shown
	// to officers.
	UrgencyCues  []string
	Language     string // "en", "fr", … or "other"
	Places       []Place
	PersonalData []PersonalSpan
	Model        string // model name and version that produced this

	// Sensitive is true when the message reports bribery, extortion,
	// kickbacks, favouritism, embezzlement or the like, whatever its topic.
	// A case is sensitive as soon as one of its messages is: only the
	// roles allowed to read sensitive cases see it, it is never shown case
	// by case in public, and it is answered only in private.
	Sensitive bool
	// SensitiveCues are the words or rules that raised Sensitive, shown to
	// those who may read the case.
	SensitiveCues []string
	// Intent says whether the message is a report (the default, also when
	// empty) or feedback that opens no case: thanks, a greeting, a bare
	// acknowledgement, or a question about the bot itself.
	Intent Intent
}

// Intent is what a citizen's message is for.
type Intent string

// Intents. The zero value means IntentReport.
const (
	IntentReport      Intent = "report"
	IntentThanks      Intent = "thanks"
	IntentGreeting    Intent = "greeting"
	IntentAck         Intent = "ack"          // "ok", "d'accord", "👍"
	IntentBotQuestion Intent = "bot_question" // "who are you?", "how does this work?"
)

// IsFeedback reports whether a message with this intent is feedback rather
// than a report: it opens no case.
func (i Intent) IsFeedback() bool {
	return i != "" && i != IntentReport
}
