// Package classifier tags a citizen's message: its topic, its urgency, its
// language, the places it names, the personal data it holds, whether it is
// sensitive (bribery, extortion, favouritism, embezzlement…, whatever the
// topic) and whether it is feedback (thanks, a greeting, an
// acknowledgement, a question about the bot) rather than a report.
//
// Classification is a pure function of the text, the language hint, the
// Options and the model: the same input always gives the same output, and a
// Classifier is safe for concurrent use. Any string is valid input (empty,
// huge, invalid UTF-8, HTML, emoji only): Classify never panics and works on
// a bounded prefix of the text (Options.MaxBytes), so its cost is bounded.
//
// Tagging is built from
//   - a fast tokenizer of its own that keeps byte offsets;
//   - a linear model over TF-IDF word, word-pair and character n-gram
//     features for topic (a linear SVM, one label against the rest, fitted
//     by dual coordinate descent with C, and whether to scale features by
//     their NB log-count ratios, chosen by inner cross-validation)
//     and urgency (multinomial logistic regression fitted exactly with
//     L-BFGS), each temperature-scaled, stored in a Model
//     file; a default model trained on the
//     licence-clean disaster_en.csv data ships embedded in the package;
//   - per-topic, per-language keyword lists from Options, which add evidence
//     at run time, so topics no training data covers (noise, taxes, permits,
//     corruption) and French messages are tagged; a language's list counts
//     in messages read in that language, English and French in every one;
//   - urgency cues (fire, flood, live wire, gas leak, collapse, injury,
//     violence, in English and French; a risk or a near miss is a hazard,
//     not a harm) whose cues are reported; a critical cue makes a message
//     critical only when it reads as a present danger and not as talk
//     about one (news, sympathy, forwarded posts, links, hashtags, notices,
//     past events, hypotheticals, jokes, questions: signals.go), unless
//     first person or an address comes with a request or "now" (their
//     words are the lexicons' [urgency] lists); the signals are also features of
//     the learnt urgency head; the urgency score is one calibrated learned
//     ranking (urgrank.go: a small logistic regression over the heads'
//     P(request), P(life threat) and P(critical), the cues, the signals
//     and prose's part-of-speech tags), from which levels are cut by
//     thresholds chosen on data, the cue rules setting floors;
//   - the named-entity recogniser of github.com/jdkato/prose/v2, loaded once
//     and run only when cheap cues suggest a name, plus a gazetteer of
//     streets, neighbourhoods and landmarks from Options;
//   - scanners for e-mail addresses, phone numbers and vehicle plates;
//   - a sensitive detector (rules and an evidence score over phrases,
//     officials, payments, conditions, relatives… of the message's
//     language and of English and French, then a logistic regression
//     over words, character n-grams and those categories) and a feedback
//     detector.
//
// Every word list (topic keywords, urgency cues, negations, masking
// phrases, the words of talk and presence, the sensitive and feedback
// words) is data: one TOML file per
// language, embedded (lexicon/en.toml, lexicon/fr.toml), to which a city
// adds or which it replaces with files of its own (Options.LexiconDir).
//
// Training works from (text, label) pairs in memory (Train) so that officers'
// corrections can retrain a model; Model.WriteFile and ReadModelFile store
// it. Evaluate computes accuracy, macro-F1, per-class scores and a confusion
// matrix.
package classifier
