package classifier

import (
	"errors"
	"fmt"
	"strings"

	"citybot"
)

// OtherTopic is the topic of a message that fits no other topic, or that the
// classifier cannot read (empty, emoji only, unknown script).
const OtherTopic = "other"

// Default limits.
const (
	// DefaultMaxBytes is how much of a message is read when
	// Options.MaxBytes is zero.
	DefaultMaxBytes = 16 << 10
	// DefaultOtherThreshold is Options.OtherThreshold when it is zero.
	DefaultOtherThreshold = 0.20
	// DefaultKeywordWeight is Options.KeywordWeight when it is zero.
	DefaultKeywordWeight = 3.5
)

// Topic is one of the city's topics with the keywords that point to it, per
// language ("en", "fr", …). Keywords may be phrases ("live wire", "nid de
// poule"); matching ignores case, accents, hyphens and a plural s or x.
type Topic struct {
	Name     string              `toml:"name"`
	Keywords map[string][]string `toml:"keywords"`
}

// PlaceEntry is a place of the city's gazetteer: a street, neighbourhood or
// landmark, with other names it goes by.
type PlaceEntry struct {
	Name    string   `toml:"name"`
	Kind    string   `toml:"kind"` // "street", "neighbourhood", "landmark" or "place"
	Aliases []string `toml:"aliases"`
}

// Options configure a Classifier. The toml tags let cmd/citybot decode the
// [classifier] section of config.toml straight into Options; zero values
// mean the defaults documented on each field. Start from DefaultOptions: a
// decoded topics list replaces the default one.
type Options struct {
	// Model is the path of a model file written by Model.WriteFile
	// (`citybot train`). Empty means the default model shipped in the
	// package.
	Model string `toml:"model"`
	// Topics the classifier may return, with their keywords. "other" is
	// always possible. Empty means the model's own labels.
	Topics []Topic `toml:"topics"`
	// Places is the city's gazetteer.
	Places []PlaceEntry `toml:"places"`
	// MaxBytes bounds how much of a message is read (DefaultMaxBytes
	// when zero). Spans only ever point into that prefix.
	MaxBytes int `toml:"max_bytes"`
	// OtherThreshold: when the best topic's confidence is below it, the
	// topic is "other" (DefaultOtherThreshold when zero).
	OtherThreshold float64 `toml:"other_threshold"`
	// KeywordWeight is the evidence, in log-odds, that one keyword hit
	// adds to its topic (DefaultKeywordWeight when zero).
	KeywordWeight float64 `toml:"keyword_weight"`
	// DisableNER turns off prose's named-entity recogniser: person names
	// then come from cues only ("Mr", "Mme", "my name is").
	DisableNER bool `toml:"disable_ner"`
}

// Validate reports every problem with o, joined, each wrapping
// citybot.ErrInvalid.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("classifier: options: "+format+": %w", append(a, citybot.ErrInvalid)...))
	}
	if o.MaxBytes < 0 {
		bad("max_bytes %d is negative", o.MaxBytes)
	}
	if o.OtherThreshold < 0 || o.OtherThreshold >= 1 {
		bad("other_threshold %v is not in [0,1)", o.OtherThreshold)
	}
	if o.KeywordWeight < 0 {
		bad("keyword_weight %v is negative", o.KeywordWeight)
	}
	seen := map[string]bool{}
	for i, t := range o.Topics {
		name := strings.TrimSpace(t.Name)
		switch {
		case name == "":
			bad("topic %d has no name", i+1)
		case seen[name]:
			bad("topic %q is listed twice", name)
		}
		seen[name] = true
	}
	for i, p := range o.Places {
		if strings.TrimSpace(p.Name) == "" {
			bad("place %d has no name", i+1)
		}
		switch p.Kind {
		case "", "street", "neighbourhood", "landmark", "place":
		default:
			bad("place %q has unknown kind %q (street, neighbourhood, landmark or place)", p.Name, p.Kind)
		}
	}
	return errors.Join(errs...)
}

func (o Options) maxBytes() int {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o Options) otherThreshold() float64 {
	if o.OtherThreshold <= 0 {
		return DefaultOtherThreshold
	}
	return o.OtherThreshold
}

func (o Options) keywordWeight() float64 {
	if o.KeywordWeight <= 0 {
		return DefaultKeywordWeight
	}
	return o.KeywordWeight
}

// DefaultTopicNames lists the default topics in a stable order.
func DefaultTopicNames() []string {
	ts := defaultTopics()
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return names
}

// DefaultOptions returns the default topics with their English and French
// keywords, no gazetteer, and the shipped model. Each call returns fresh
// slices and maps the caller owns.
func DefaultOptions() Options {
	return Options{Topics: defaultTopics()}
}

func kw(en, fr string) map[string][]string {
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return map[string][]string{"en": split(en), "fr": split(fr)}
}

func defaultTopics() []Topic {
	return []Topic{
		{Name: "roads", Keywords: kw(
			"pothole, road, roadway, street repair, pavement, asphalt, blacktop, black top, sidewalk, side walk, curb, gutter, crack, cracked, hole, sinkhole, sunk, bridge, roadworks, road works, utility cut, construction debris, debris, gravel, sand, rocks, snow, snow plow, snow removal, plowed, icy road, manhole, speed bump, cone",
			"nid de poule, route, chaussée, trottoir, bitume, goudron, asphalte, fissure, trou, affaissement, pont, travaux de voirie, voirie, gravats, gravier, caniveau bouché, déneigement, chasse neige, neige, verglas, bouche d'égout, ralentisseur, bordure, cône")},
		{Name: "waste", Keywords: kw(
			"trash, garbage, rubbish, litter, waste, bin, dumpster, recycling, bulky waste, missed pickup, collection, landfill, illegal dumping, dumped, overflowing bin, compost",
			"poubelle, ordures, déchets, détritus, ramassage, collecte, benne, recyclage, tri, encombrants, dépôt sauvage, décharge, conteneur, compost, éboueurs")},
		{Name: "water_sanitation", Keywords: kw(
			"water, tap water, drinking water, water cut, no water, pipe, burst pipe, water main, leak, sewer, sewage, storm drain, drain, drainage, toilet, latrine, sanitation, hydrant, flooding",
			"eau, eau potable, coupure d'eau, pas d'eau, robinet, canalisation, conduite, fuite d'eau, égout, égouts, assainissement, caniveau, évacuation, toilettes, latrines, bouche d'incendie, inondation")},
		{Name: "street_lighting", Keywords: kw(
			"street light, streetlight, street lamp, lamp post, light pole, light out, lights out, dark street, lighting, bulb, unlit",
			"lampadaire, éclairage public, éclairage, réverbère, candélabre, ampoule, rue sombre, rue noire, lumière éteinte, pas de lumière")},
		{Name: "public_safety", Keywords: kw(
			"gas leak, smell of gas, live wire, police, crime, stabbed, stabbing, bleeding, murder, broken into, break-in, theft, stolen, robbery, burglary, assault, violence, shooting, gun, knife, fight, security, fire, injured, ambulance, emergency, missing person, rescue, drugs, harassment",
			"fuite de gaz, odeur de gaz, fil électrique tombé, police, gendarmerie, crime, poignardé, saigne, meurtre, effraction, délit, vol, volé, cambriolage, agression, violence, coup de feu, arme, couteau, bagarre, insécurité, sécurité, incendie, blessé, ambulance, urgence, disparu, secours, drogue, harcèlement")},
		{Name: "transport", Keywords: kw(
			"bus, bus stop, train, tram, metro, subway, transit, traffic, traffic light, traffic sign, stop sign, parking, parked, crosswalk, pedestrian crossing, bike lane, cycle lane, road sign, street sign, sign post, sign, wrong way, one way, signal, taxi, fare, timetable, schedule, parked car, double parked, illegally parked, blocking the driveway, abandoned car, abandoned vehicle",
			"bus, arrêt de bus, autobus, train, tramway, tram, métro, transport en commun, circulation, embouteillage, feu rouge, feu tricolore, panneau, panneau de signalisation, sens interdit, sens unique, stationnement, parking, passage piéton, piste cyclable, signalisation, taxi, ticket, horaire, horaires, voiture garée, garé, garée, mal garé, mal garée, stationné, stationnée, voiture ventouse, véhicule abandonné")},
		{Name: "housing", Keywords: kw(
			"housing, apartment, flat, landlord, tenant, rent, eviction, evicted, homeless, shelter, tent, building, roof, mold, mould, social housing, squat",
			"logement, maison, appartement, propriétaire, locataire, loyer, expulsion, expulsé, sans abri, sans-abri, sdf, abri, tente, immeuble, bâtiment, toit, toiture, moisissure, insalubre, hlm, logement social, squat")},
		{Name: "noise", Keywords: kw(
			"noise, noisy, loud, loud music, party, barking, dog barking, construction noise, noise complaint, shouting, music at night, nightclub, horn, decibel, disturbance",
			"bruit, bruyant, tapage, tapage nocturne, musique forte, musique, fête, soirée, aboiement, aboie, chien qui aboie, nuisance sonore, nuisances sonores, cris, boîte de nuit, klaxon, vacarme, décibels")},
		{Name: "parks", Keywords: kw(
			"park, playground, tree, trees, branch, fallen tree, grass, mowing, lawn, garden, bench, beach, trail, cliff walk, vegetation, weeds, bush, bushes, hedge, hedges, overgrown, fountain, water fountain, drinking fountain, monument, cemetery, swing, slide, zipline, sports field",
			"parc, aire de jeux, jardin, jardin public, arbre, arbres, branche, arbre tombé, pelouse, herbe, tonte, banc, plage, sentier, square, espace vert, espaces verts, végétation, mauvaises herbes, buisson, buissons, haie, haies, fontaine, fontaine à eau, monument, cimetière, balançoire, toboggan, terrain de sport")},
		{Name: "taxes_budget", Keywords: kw(
			"tax, taxes, property tax, tax bill, budget, city budget, spending, public money, taxpayer, fee, fees, levy, assessment, rates, invoice, debt, funding, grant, subsidy",
			"impôt, impôts, taxe, taxes, taxe foncière, taxe d'habitation, budget, dépenses, argent public, contribuable, redevance, facture, dette, financement, subvention, fiscalité, trésor public")},
		{Name: "corruption", Keywords: kw(
			"corruption, corrupt, bribe, bribery, kickback, fraud, embezzlement, nepotism, favoritism, favouritism, conflict of interest, cronyism, misuse of funds, rigged, money laundering, abuse of power",
			"corruption, corrompu, pot de vin, pots de vin, pot-de-vin, bakchich, fraude, détournement, détournement de fonds, népotisme, favoritisme, conflit d'intérêts, copinage, abus de pouvoir, blanchiment, marché truqué, truqué")},
		{Name: "administration_permits", Keywords: kw(
			"permit, building permit, license, licence, application, form, certificate, birth certificate, id card, passport, appointment, city hall, town hall, registration, paperwork, office hours, document, documents, bureaucracy, administration",
			"permis, permis de construire, licence, autorisation, demande, formulaire, certificat, acte de naissance, carte d'identité, passeport, rendez-vous, mairie, hôtel de ville, inscription, paperasse, démarche, démarches, dossier, guichet, horaires d'ouverture, administration, état civil")},
		{Name: "other"},
	}
}
