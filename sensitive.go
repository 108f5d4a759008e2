package citybot

// DefaultSensitiveTopics returns the topics treated as sensitive when a city
// configures none: reports on them are shown only to the roles the city
// names, never appear case by case in public output, and are answered only
// in private. A new slice each call; the caller owns it.
func DefaultSensitiveTopics() []string { return []string{"corruption"} }
