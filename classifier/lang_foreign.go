package classifier

import "unicode"

// foreignStopwords are common words (articles, pronouns, prepositions,
// auxiliaries, everyday words of reports) of languages citybot has no
// lexicon for, by language: a text where they outvote every known
// language is "other", said honestly rather than guessed. Words one of
// the six shipped languages also writes ("de", "la", "na", "se", "para")
// are left out here, and a language a city adds with a lexicon file takes
// its own words out of the list (newLangDetector).
var foreignStopwords = map[string][]string{
	"de": {"der", "die", "das", "und", "ist", "nicht", "ich", "wir", "mit", "auf", "strasse", "bitte", "danke", "seit",
		"ein", "eine", "zu", "den", "dem", "kein", "keine", "sehr", "auch", "noch", "schon", "wieder", "heute",
		"gestern", "haben", "wird", "sind", "unsere", "unser", "unserem", "unserer", "wasser", "kaputt", "gibt", "viel", "nacht", "wochen", "tagen", "aus", "sie", "vor", "mehr", "werden", "wurde", "oder", "aber",
		"für", "über", "jetzt", "immer", "müll", "seit", "niemand", "warum"},
	"it": {"della", "sono", "questo", "questa", "grazie", "strada", "perche", "perché", "il", "gli", "che", "di", "molto",
		"anche", "nella", "sul", "sulla", "ancora", "oggi", "ieri", "acqua", "buca", "quartiere", "citta", "nostro",
		"nostra", "nessuno", "ci", "volte", "comune", "sotto", "abbiamo", "segnalato", "ovunque", "rifiuti", "caduto",
		"degli", "delle", "alla", "alle", "dalla", "quello", "niente", "tutto", "tutti", "siamo", "hanno",
		"stato", "fatto", "chiuso", "pieno", "giorni"},
	"nl": {"het", "een", "niet", "straat", "bedankt", "ik", "wij", "zijn", "geen", "ook", "nog", "dagen", "onze", "ons",
		"jullie", "kunnen", "alstublieft", "alsjeblieft", "niemand", "vies", "waarom", "buurt", "bij", "twee",
		"weken", "wordt", "heeft", "hebben", "maar", "graag", "stroom", "weg", "op", "naar", "wat", "hoe"},
	"tr": {"bir", "bu", "çok", "için", "ile", "var", "yok", "sokak", "lütfen", "teşekkürler", "merhaba",
		"mahalle", "değil", "ama", "gibi", "daha", "hala", "bugün", "dün", "suyu", "sokakta", "hiç", "kadar",
		"sonra", "iki", "üç", "tamir", "edin", "çocuklar", "güvenli", "yol", "var"},
	"pl": {"nie", "jest", "się", "że", "ale", "jak", "tak", "przez", "dla", "nas", "nasze", "naszym", "nasza",
		"ulicy", "ulica", "proszę", "bardzo", "już", "jeszcze", "tylko", "był", "była", "było", "są", "nikt",
		"czy", "tego", "przed", "ciągle", "woda", "od", "dni", "naprawić"},
	"cs": {"není", "jsou", "jsme", "prosím", "před", "už", "ještě", "nebo", "který", "která",
		"když", "naše", "naši", "opravte", "pouliční", "voda", "nemáme"},
	"ro": {"nu", "cu", "din", "nostru", "noastră", "noștri", "avem", "sunt", "fost", "vă", "rog", "nimeni", "nimic", "foarte", "apă", "acest", "această", "doar"},
	"hu": {"az", "egy", "hogy", "meg", "még", "kérem", "utcai", "utca", "két", "hete",
		"nincs", "víz", "javítsák"},
	"sv": {"och", "att", "det", "är", "på", "av", "inte", "vår", "vårt", "våra", "gatan",
		"varit", "snälla", "tack", "hej", "också", "utanför", "ingen"},
	"da": {"ikke", "jeg", "vores", "været", "efter", "til", "fra", "også", "takk", "tak", "fuld", "huller"},
	"fi": {"ei", "että", "kun", "mutta", "myös", "meidän", "minun", "olen", "ovat", "oli", "kadulla", "kiitos",
		"tämä", "nyt", "vielä", "eivät", "toimi"},
	"sq": {"është", "dhe", "nuk", "ju", "lutem", "rrugës", "shumë", "kemi", "ujë"},
	"ca": {"amb", "perquè", "molt", "aquest", "aquesta", "ningú", "els", "dels",
		"plau", "nostre", "també", "avui", "ahir", "aigua", "llum", "brossa"},
	"gl": {"moito", "miña", "chea", "dende", "arranxen", "praza", "auga", "xa", "tamén", "unha", "cun", "coa",
		"nunha"},
	"id": {"yang", "ini", "itu", "tidak", "dengan", "untuk", "dari", "sudah", "belum", "akan", "kami",
		"kita", "saya", "mereka", "sejak", "selama", "tolong", "karena", "juga", "sangat", "bisa", "harus",
		"lagi", "sampah", "mati", "jalan"},
	"tl": {"ang", "ng", "mga", "ay", "hindi", "walang", "wala", "po", "namin", "natin", "kayo", "ito", "iyan",
		"mula", "lang", "naman", "kasi", "ilaw", "kalye", "paki", "aming", "pa"},
	"vi": {"không", "chúng", "tôi", "của", "nhưng", "được", "nhiều", "trong", "một", "này", "các", "rất", "lớn", "rồi", "ngày"},
	"ha": {"mana", "gyara", "hanya", "sosai", "babu", "ruwa", "wannan", "kuma", "amma", "zuwa", "yana", "suna"},
	"yo": {"jọwọ", "awọn", "ati", "naa", "ọjọ"},
	"zu": {"sicela", "ukuthi", "kodwa", "futhi", "kakhulu", "amanzi", "lapha", "yini", "ngoba", "abantu",
		"kusukela", "izinsuku"},
	"so": {"waa", "iyo", "oo", "ayaa", "waxa", "fadlan", "xaafadda", "biyaha", "tahay", "yahay", "maanta", "shalay"},
	"rw": {"cyane", "kandi", "nta", "turasaba", "umuhanda", "amazi", "muri", "kuri", "ariko", "ntabwo", "wacu",
		"yacu", "kubera"},
	"ln": {"ezali", "biso", "bino", "mpo", "mingi", "oyo", "epai", "bato", "lisusu", "tozali", "ozali",
		"eloko", "mpe", "malamu"},
	"wo": {"dafa", "dañu", "sunu", "ngi", "dama", "amul", "dëkk", "bi", "yi", "ci", "ak", "nga"},
	"hi": {"hai", "hain", "nahi", "nahin", "mein", "ka", "ki", "ke", "aur", "bhi", "hum", "humne", "hamare", "hamara",
		"hamari", "tum", "aap", "yeh", "woh", "kya", "kab", "kyun", "kuch", "koi", "raha", "rahi", "rahe", "gaya",
		"gayi", "hua", "tha", "thi", "karo", "karein", "bahut", "yahan", "wahan",
		"lekin", "abhi", "baar", "shikayat", "pe"},
	"ht": {"mwen", "nou", "gen", "bezwen", "tanpri", "nan", "fè", "fwa", "pèsonn", "lari", "twou", "plen", "depi", "jou", "rele", "plizyè", "kounye", "anpil", "pou", "ki"},
	// Persian and Urdu, in Arabic script.
	"fa": {"است", "این", "را", "که", "می", "نیست", "خیابان", "لطفا", "ما", "از"},
	"ur": {"ہے", "کے", "میں", "کی", "نہیں", "سے", "ہیں", "کو", "اور", "برائے", "مہربانی", "کریں"},
}

// foreignLetter reports whether r is a letter none of the six shipped
// languages writes: ä ö ß å ø ł ą ę ğ ı ş ț ă č ř š ž đ ơ ư, the Latin
// Extended Additional block (Vietnamese, Yoruba), and the Arabic-script
// letters of Persian and Urdu (پ چ ژ گ ک ی ہ ے ٹ ڈ ڑ ں). A word holding
// one is a foreign vote. (ü is not one: Spanish writes "vergüenza".)
func foreignLetter(r rune) bool {
	r = unicode.ToLower(r)
	switch r {
	case 'ä', 'ö', 'ß', 'å', 'ø', 'ł', 'ą', 'ę', 'ś', 'ź', 'ż', 'ć', 'ń', 'ő', 'ű', 'ğ', 'ı', 'ş', 'ș', 'ț', 'ţ',
		'ă', 'č', 'ř', 'š', 'ž', 'ě', 'ů', 'ď', 'ť', 'ň', 'ľ', 'ĺ', 'ŕ', 'đ', 'ơ', 'ư', 'þ', 'ð', 'ì', 'ò',
		'پ', 'چ', 'ژ', 'گ', 'ک', 'ی', 'ہ', 'ے', 'ٹ', 'ڈ', 'ڑ', 'ں':
		return true
	}
	return r >= 0x1E00 && r <= 0x1EFF
}
