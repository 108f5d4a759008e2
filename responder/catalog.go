package responder

import (
	"strings"

	"citybot"
)

// Catalog is everything the bot says to citizens, in one language. Texts
// may hold placeholders in braces, replaced when the text is used:
// {ref} a case reference, {topic} a topic in words, {status} a status in
// words, {number} the emergency number, {language} the language's name.
// To add a language, add a Catalog to Options.Catalogs; a missing field
// falls back to English.
type Catalog struct {
	Name string // the language's name in itself ("Français")

	Start string // /start: what the bot does, what is stored, privacy
	Help  string // /help and unknown commands

	AckNew    string // "your report is case {ref}"
	AckTopic  string // "we understood: {topic}"
	AckNext   string // what happens next
	AckStatus string // how to ask for the status ({ref})
	AckGroup  string // added in groups: keep personal details out of the group
	// Sensitive ends the acknowledgement of a sensitive case (a message
	// the classifier found sensitive, or on one of
	// Options.SensitiveTopics), and the private notice sent when a
	// follow-up makes a case sensitive: how the citizen's identity is
	// protected. Built-in languages default to SensitiveNotice.
	Sensitive string
	// SensitiveGroup replaces AckGroup for a sensitive case opened in a
	// group: add nothing here, continue in a private chat.
	SensitiveGroup string
	// FollowUp tells a citizen that their message joined their open
	// case {ref}; see Options.FollowUpInterval.
	FollowUp string
	// Emergency comes first in the acknowledgement of a critical case,
	// and alone on a follow-up that makes a case critical ({number}).
	Emergency string

	// Thanks answers a thank-you (feedback: it opens no case; it is
	// kept with the citizen's latest case, for the officers).
	Thanks string
	// Greeting answers a bare greeting: how to report, in short.
	Greeting string
	// AckOK answers a bare "ok" or thumbs up.
	AckOK string

	EmptyReport  string // a message with nothing in it, or /report alone
	StatusNone   string // the citizen has no case
	StatusHeader string // before the list of the citizen's cases
	StatusLine   string // one case: {ref} {topic} {status}
	StatusOne    string // /status REF for one of the citizen's cases: {ref} {topic} {status}
	StatusGroup  string // /status REF in a group: {ref} {status}, no topic
	StatusAsk    string // /status without a reference in a group
	StatusFound  string // /status REF that is not one of the citizen's cases ({ref})

	LanguageAsk string // /language without a valid choice
	LanguageSet string // the choice is saved ({language})

	// Officers' alerts about critical cases (see Alerter); never a
	// citizen's identity or text.
	AlertNew       string // first line of an alert: {ref}
	AlertEscalated string // first line of an escalation: {ref} {age} {n}
	AlertDetails   string // topic, place, cues, age, link: {topic} {place} {cues} {age} {link}
	AlertSensitive string // all a sensitive case's alert says: {ref}
	AlertTake      string // the Take it button
	AlertTaken     string // added to the alert once taken: {name}
	AlertYouTook   string // toast for the officer who took it: {ref}
	AlertAlready   string // toast for a later press: {ref} {name}
	AlertRefused   string // toast for someone not allowed to take it
	AlertUnknown   string // no place, or no cue

	Topics   map[string]string             // topic label → words
	Statuses map[citybot.CaseStatus]string // status → words
}

// defaultCatalogs returns the built-in catalogs, keyed by language code.
func defaultCatalogs() map[string]Catalog {
	return map[string]Catalog{"en": english(), "fr": french()}
}

func english() Catalog {
	return Catalog{
		Name: "English",
		Start: "Hello! I am the city's listening bot.\n\n" +
			"Tell me about a problem in the city (a pothole, uncollected rubbish, a water cut, a broken street light…) " +
			"and I will register it as a case with a short reference, pass it to the right service and tell you here when there is news.\n\n" +
			"What is stored: your messages, the topic and place we understood, and a pseudonymous number for you. " +
			"Your name and username are kept apart and never published; public reports never show who wrote.\n\n" +
			"Commands: /status to follow your cases, /language to choose your language, /help for help.",
		Help: "Write your report in plain words; add a photo or your location if it helps.\n" +
			"/status — your cases and where they stand\n/status REF — one case\n/language — choose your language\n/start — what this bot does and what it stores",
		AckNew:         "Thank you. Your report is registered as case {ref}.",
		AckTopic:       "We understood it is about: {topic}.",
		AckNext:        "A city officer will review it and we will write to you here when there is news.",
		AckStatus:      "To follow it, send /status {ref}.",
		AckGroup:       "Please keep personal details (phone, address) out of this group: write to me privately if needed.",
		Sensitive:      SensitiveNotice("en"),
		FollowUp:       "Added to your case {ref}.",
		SensitiveGroup: "Please add no details in this group: write to me in a private chat to go on. Your report stays protected there.",
		Emergency:      "If anyone is in danger, call {number} now. This chat is not an emergency line.",
		Thanks:         "Thank you! We passed it on to the team.",
		Greeting:       "Hello! To report a problem in the city, describe it here in a few words (what, and where); add a photo or your location if it helps. /help for more.",
		AckOK:          "Noted. Write to me any time about a problem in the city; /status shows your cases.",
		EmptyReport:    "Please describe the problem in a few words (what, and where).",
		StatusNone:     "You have no case yet. Describe a problem and I will register it.",
		StatusHeader:   "Your cases:",
		StatusLine:     "{ref} — {topic}: {status}",
		StatusOne:      "Case {ref} ({topic}): {status}.",
		StatusGroup:    "Case {ref}: {status}.",
		StatusAsk:      "To protect your privacy, send /status REF with your case reference, or ask me privately.",
		StatusFound:    "I found no case {ref} among yours. Check the reference, or send /status to list your cases.",
		LanguageAsk:    "Choose your language:",
		LanguageSet:    "Language set: {language}.",
		AlertNew:       "🚨 Critical case {ref}",
		AlertEscalated: "⏫ Nobody has taken critical case {ref} after {age} (reminder {n})",
		AlertDetails:   "Topic: {topic}\nPlace: {place}\nWhy critical: {cues}\nWaiting for {age}\n{link}",
		AlertSensitive: "🚨 A sensitive critical case waits: {ref}",
		AlertTake:      "Take it",
		AlertTaken:     "✅ Taken by {name}",
		AlertYouTook:   "Case {ref} is yours.",
		AlertAlready:   "Case {ref} is already taken by {name}.",
		AlertRefused:   "You are not on the list of officers who can take cases from here.",
		AlertUnknown:   "unknown",
		Topics: map[string]string{
			"roads": "roads and pavements", "waste": "rubbish and cleanliness", "water_sanitation": "water and sanitation",
			"street_lighting": "street lighting", "public_safety": "public safety", "transport": "transport and traffic",
			"housing": "housing", "noise": "noise", "parks": "parks and green spaces", "taxes_budget": "taxes and budget",
			"corruption": "corruption", "administration_permits": "administration and permits", "other": "a general matter",
		},
		Statuses: map[citybot.CaseStatus]string{
			citybot.StatusNew: "received", citybot.StatusAcknowledged: "received, waiting for an officer",
			citybot.StatusInProgress: "in progress", citybot.StatusAnswered: "answered",
			citybot.StatusResolved: "resolved", citybot.StatusClosed: "closed", citybot.StatusDuplicate: "merged with another case",
		},
	}
}

func french() Catalog {
	return Catalog{
		Name: "Français",
		Start: "Bonjour ! Je suis le robot d'écoute de la ville.\n\n" +
			"Signalez-moi un problème (nid-de-poule, ordures non ramassées, coupure d'eau, lampadaire en panne…) : " +
			"je l'enregistre comme dossier avec une courte référence, je le transmets au bon service et je vous préviens ici dès qu'il y a du nouveau.\n\n" +
			"Ce qui est conservé : vos messages, le sujet et le lieu compris, et un numéro pseudonyme pour vous. " +
			"Votre nom et votre identifiant sont conservés à part et jamais publiés ; les bilans publics ne montrent jamais qui a écrit.\n\n" +
			"Commandes : /status pour suivre vos dossiers, /language pour choisir votre langue, /help pour l'aide.",
		Help: "Écrivez votre signalement simplement ; ajoutez une photo ou votre position si cela aide.\n" +
			"/status — vos dossiers et leur état\n/status REF — un dossier\n/language — choisir votre langue\n/start — ce que fait ce robot et ce qu'il conserve",
		AckNew:         "Merci. Votre signalement est enregistré sous le dossier {ref}.",
		AckTopic:       "Nous avons compris qu'il concerne : {topic}.",
		AckNext:        "Un agent de la ville va l'examiner et nous vous écrirons ici dès qu'il y aura du nouveau.",
		AckStatus:      "Pour le suivre, envoyez /status {ref}.",
		AckGroup:       "Merci de ne pas publier de données personnelles (téléphone, adresse) dans ce groupe : écrivez-moi en privé si besoin.",
		Sensitive:      SensitiveNotice("fr"),
		FollowUp:       "Ajouté à votre dossier {ref}.",
		SensitiveGroup: "Merci de n'ajouter aucun détail dans ce groupe : écrivez-moi en message privé pour continuer. Votre signalement y reste protégé.",
		Emergency:      "Si quelqu'un est en danger, appelez le {number} maintenant. Cette conversation n'est pas une ligne d'urgence.",
		Thanks:         "Merci ! Nous l'avons transmis à l'équipe.",
		Greeting:       "Bonjour ! Pour signaler un problème dans la ville, décrivez-le ici en quelques mots (quoi, et où) ; ajoutez une photo ou votre position si cela aide. /help pour en savoir plus.",
		AckOK:          "C'est noté. Écrivez-moi quand vous voulez au sujet d'un problème dans la ville ; /status montre vos dossiers.",
		EmptyReport:    "Décrivez le problème en quelques mots (quoi, et où).",
		StatusNone:     "Vous n'avez pas encore de dossier. Décrivez un problème et je l'enregistrerai.",
		StatusHeader:   "Vos dossiers :",
		StatusLine:     "{ref} — {topic} : {status}",
		StatusOne:      "Dossier {ref} ({topic}) : {status}.",
		StatusGroup:    "Dossier {ref} : {status}.",
		StatusAsk:      "Pour protéger votre vie privée, envoyez /status REF avec la référence de votre dossier, ou écrivez-moi en privé.",
		StatusFound:    "Je ne trouve pas de dossier {ref} parmi les vôtres. Vérifiez la référence, ou envoyez /status pour la liste de vos dossiers.",
		LanguageAsk:    "Choisissez votre langue :",
		LanguageSet:    "Langue choisie : {language}.",
		AlertNew:       "🚨 Dossier critique {ref}",
		AlertEscalated: "⏫ Personne n'a pris le dossier critique {ref} depuis {age} (rappel {n})",
		AlertDetails:   "Sujet : {topic}\nLieu : {place}\nPourquoi critique : {cues}\nEn attente depuis {age}\n{link}",
		AlertSensitive: "🚨 Un dossier sensible et critique attend : {ref}",
		AlertTake:      "Je le prends",
		AlertTaken:     "✅ Pris par {name}",
		AlertYouTook:   "Le dossier {ref} est à vous.",
		AlertAlready:   "Le dossier {ref} est déjà pris par {name}.",
		AlertRefused:   "Vous n'êtes pas sur la liste des agents qui peuvent prendre un dossier d'ici.",
		AlertUnknown:   "inconnu",
		Topics: map[string]string{
			"roads": "la voirie et les trottoirs", "waste": "les déchets et la propreté", "water_sanitation": "l'eau et l'assainissement",
			"street_lighting": "l'éclairage public", "public_safety": "la sécurité publique", "transport": "les transports et la circulation",
			"housing": "le logement", "noise": "le bruit", "parks": "les parcs et espaces verts", "taxes_budget": "les impôts et le budget",
			"corruption": "la corruption", "administration_permits": "les démarches et permis", "other": "une question générale",
		},
		Statuses: map[citybot.CaseStatus]string{
			citybot.StatusNew: "reçu", citybot.StatusAcknowledged: "reçu, en attente d'un agent",
			citybot.StatusInProgress: "en cours de traitement", citybot.StatusAnswered: "réponse envoyée",
			citybot.StatusResolved: "résolu", citybot.StatusClosed: "clos", citybot.StatusDuplicate: "fusionné avec un autre dossier",
		},
	}
}

// withFallback fills c's empty fields from fb.
func (c Catalog) withFallback(fb Catalog) Catalog {
	pick := func(s *string, f string) {
		if *s == "" {
			*s = f
		}
	}
	pick(&c.Name, fb.Name)
	pick(&c.Start, fb.Start)
	pick(&c.Help, fb.Help)
	pick(&c.AckNew, fb.AckNew)
	pick(&c.AckTopic, fb.AckTopic)
	pick(&c.AckNext, fb.AckNext)
	pick(&c.AckStatus, fb.AckStatus)
	pick(&c.AckGroup, fb.AckGroup)
	pick(&c.Sensitive, fb.Sensitive)
	pick(&c.SensitiveGroup, fb.SensitiveGroup)
	pick(&c.FollowUp, fb.FollowUp)
	pick(&c.Emergency, fb.Emergency)
	pick(&c.Thanks, fb.Thanks)
	pick(&c.Greeting, fb.Greeting)
	pick(&c.AckOK, fb.AckOK)
	pick(&c.EmptyReport, fb.EmptyReport)
	pick(&c.StatusNone, fb.StatusNone)
	pick(&c.StatusHeader, fb.StatusHeader)
	pick(&c.StatusLine, fb.StatusLine)
	pick(&c.StatusOne, fb.StatusOne)
	pick(&c.StatusGroup, fb.StatusGroup)
	pick(&c.StatusAsk, fb.StatusAsk)
	pick(&c.StatusFound, fb.StatusFound)
	pick(&c.LanguageAsk, fb.LanguageAsk)
	pick(&c.LanguageSet, fb.LanguageSet)
	for _, p := range []struct {
		s *string
		f string
	}{{&c.AlertNew, fb.AlertNew}, {&c.AlertEscalated, fb.AlertEscalated}, {&c.AlertDetails, fb.AlertDetails},
		{&c.AlertSensitive, fb.AlertSensitive}, {&c.AlertTake, fb.AlertTake}, {&c.AlertTaken, fb.AlertTaken},
		{&c.AlertYouTook, fb.AlertYouTook}, {&c.AlertAlready, fb.AlertAlready}, {&c.AlertRefused, fb.AlertRefused},
		{&c.AlertUnknown, fb.AlertUnknown}} {
		pick(p.s, p.f)
	}
	topics := map[string]string{}
	for k, v := range fb.Topics {
		topics[k] = v
	}
	for k, v := range c.Topics {
		topics[k] = v
	}
	c.Topics = topics
	statuses := map[citybot.CaseStatus]string{}
	for k, v := range fb.Statuses {
		statuses[k] = v
	}
	for k, v := range c.Statuses {
		statuses[k] = v
	}
	c.Statuses = statuses
	return c
}

// topic returns a topic label in words.
func (c Catalog) topic(label string) string {
	if w, ok := c.Topics[label]; ok {
		return w
	}
	if w, ok := c.Topics["other"]; ok && label == "" {
		return w
	}
	return strings.ReplaceAll(label, "_", " ")
}

// status returns a status in words.
func (c Catalog) status(s citybot.CaseStatus) string {
	if w, ok := c.Statuses[s]; ok {
		return w
	}
	return strings.ReplaceAll(string(s), "_", " ")
}

// fill replaces the placeholders of tmpl; pairs are name, value.
func fill(tmpl string, pairs ...string) string {
	var args []string
	for i := 0; i+1 < len(pairs); i += 2 {
		args = append(args, "{"+pairs[i]+"}", pairs[i+1])
	}
	return strings.NewReplacer(args...).Replace(tmpl)
}
