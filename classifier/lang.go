package classifier

import "strings"

// Languages Classify reports.
const (
	LangEnglish = "en"
	LangFrench  = "fr"
	LangOther   = "other"
)

// stopword scores: how strongly a folded word points to English (+) or
// French (-). Words common to both ("a", "on", "me") are left out.
func langVote(norm string) int {
	switch norm {
	case "the", "and", "is", "are", "was", "were", "of", "to", "in", "it", "this", "that", "there", "with", "for", "my", "we", "you", "they", "have", "has", "not", "no", "please", "street", "road", "our", "at", "be", "been", "from", "near", "help", "need", "what", "when", "why", "how", "can", "will", "would", "should", "i", "he", "she", "his", "her", "its", "an", "or", "by", "all", "water", "thank", "thanks", "hello", "hi", "people", "house", "broken", "again", "still", "yesterday", "today", "night", "since", "who", "which", "do", "does", "did", "dont", "im", "very", "many", "some", "any", "out", "up", "down", "over", "about":
		return 1
	case "le", "la", "les", "des", "du", "est", "sont", "et", "un", "une", "dans", "pour", "avec", "sur", "pas", "ne", "nous", "vous", "ils", "elles", "je", "tu", "il", "elle", "ce", "cette", "ces", "qui", "que", "quoi", "mon", "ma", "mes", "notre", "nos", "votre", "vos", "leur", "leurs", "au", "aux", "rue", "merci", "bonjour", "depuis", "tres", "mais", "ou", "donc", "car", "sous", "chez", "tout", "tous", "toute", "toutes", "rien", "plus", "deja", "encore", "hier", "aujourd", "hui", "nuit", "quartier", "eau", "devant", "pres", "quand", "pourquoi", "comment", "avons", "avez", "ont", "suis", "sommes", "etes", "etait", "ete", "fait", "faire", "svp", "madame", "monsieur", "ville", "mairie", "personne", "gens":
		return -1
	}
	return 0
}

// detectLanguage returns "en", "fr" or "other" from tokens, the count of
// non-Latin letters and a platform hint ("fr", "en-US", …; may be empty).
func detectLanguage(toks []token, nonLatin int, hint string) string {
	latin := 0
	en, fr := 0, 0
	accents := 0
	for i := range toks {
		t := &toks[i]
		if t.latin {
			latin += t.letters
		}
		if i < 400 {
			switch v := langVote(t.norm); {
			case v > 0:
				en++
			case v < 0:
				fr++
			}
			if t.latin && len(t.norm) < t.end-t.start && t.letters > 0 {
				// the folded form is shorter: the word had accents
				accents++
			}
		}
	}
	if latin == 0 || nonLatin > latin {
		return LangOther
	}
	fr += accents / 2
	h := strings.ToLower(hint)
	hinted := ""
	switch {
	case strings.HasPrefix(h, "en"):
		hinted = LangEnglish
	case strings.HasPrefix(h, "fr"):
		hinted = LangFrench
	}
	switch {
	case en > fr:
		return LangEnglish
	case fr > en:
		return LangFrench
	case hinted != "":
		return hinted
	case en > 0 || latin >= 3:
		// Latin-script text with no telling words: English is the
		// commonest case.
		if accents > 0 {
			return LangFrench
		}
		return LangEnglish
	}
	return LangOther
}
