package classifier

import _ "embed"

// The default model: topic and urgency heads trained only on
// disaster_en.csv (CC BY 4.0; see README.md) and the default keywords.
// Rebuild it with `go generate ./classifier` (needs ../shared/data).
//
//go:generate go run ./internal/gendefault -out model/default.model
//go:embed model/default.model
var defaultModelBytes []byte
