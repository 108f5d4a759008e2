package accountability

import "citybot/responder"

// The chat texts and helpers shared with the pipeline (package
// responder), under the names the code moved from there uses.
type (
	// Catalog is a language's chat texts (responder.Catalog).
	Catalog = responder.Catalog
	// Classifier tags a text (responder.Classifier).
	Classifier = responder.Classifier
)

var (
	fill       = responder.Fill
	baseLang   = responder.BaseLang
	locales    = responder.Locales
	catalogsOf = responder.CatalogsOf
)
