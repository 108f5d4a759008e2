package classifier

import "strings"

// Languages Classify reports.
const (
	LangEnglish = "en"
	LangFrench  = "fr"
	LangOther   = "other"
)

// langVote tells which language a folded word points to: English (1),
// French (-1), another language (2: Spanish, German, Italian, Portuguese,
// Haitian Creole), or none (0). Words common to several ("a", "on", "me")
// are left out.
func langVote(norm string) int {
	switch norm {
	case "the", "and", "is", "are", "was", "were", "of", "to", "in", "it", "this", "that", "there", "with", "for", "my", "we", "you", "they", "have", "has", "not", "no", "please", "street", "road", "our", "at", "be", "been", "from", "near", "help", "need", "what", "when", "why", "how", "can", "will", "would", "should", "i", "he", "she", "his", "her", "its", "an", "or", "by", "all", "water", "thank", "thanks", "hello", "hi", "people", "house", "broken", "again", "still", "yesterday", "today", "night", "since", "who", "which", "do", "does", "did", "dont", "im", "very", "many", "some", "any", "out", "up", "down", "over", "about":
		return 1
	case "le", "la", "les", "des", "du", "est", "sont", "et", "un", "une", "dans", "pour", "avec", "sur", "pas", "ne", "nous", "vous", "ils", "elles", "je", "tu", "il", "elle", "ce", "cette", "ces", "qui", "que", "quoi", "mon", "ma", "mes", "notre", "nos", "votre", "vos", "leur", "leurs", "au", "aux", "rue", "merci", "bonjour", "depuis", "tres", "mais", "ou", "donc", "car", "sous", "chez", "tout", "tous", "toute", "toutes", "rien", "plus", "deja", "encore", "hier", "aujourd", "hui", "nuit", "quartier", "eau", "devant", "pres", "quand", "pourquoi", "comment", "avons", "avez", "ont", "suis", "sommes", "etes", "etait", "ete", "fait", "faire", "svp", "madame", "monsieur", "ville", "mairie", "personne", "gens":
		return -1
	case "el", "los", "las", "hay", "calle", "por", "del", "muy", "pero", "esta", "gracias", "basura", "tenemos", "porque", "donde", // es
		"der", "die", "das", "und", "ist", "nicht", "ich", "wir", "mit", "auf", "strasse", "bitte", "danke", "seit", // de
		"della", "sono", "questo", "grazie", "strada", "perche", // it
		"nao", "obrigado", "rua", "com", "voce", // pt
		"mwen", "nou", "gen", "ak", "bezwen", "tanpri", "nan": // ht
		return 2
	}
	return 0
}

// detectLanguage returns "en", "fr" or "other" from tokens, the count of
// non-Latin letters and a platform hint ("fr", "en-US", …; may be empty).
func detectLanguage(toks []token, nonLatin int, hint string) string {
	latin := 0
	en, fr, other := 0, 0, 0
	accents := 0
	for i := range toks {
		t := &toks[i]
		if t.latin {
			latin += t.letters
		}
		if i < 400 {
			switch langVote(t.norm) {
			case 1:
				en++
			case -1:
				fr++
			case 2:
				other++
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
	if other >= 2 && other > en && other > fr {
		return LangOther
	}
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
