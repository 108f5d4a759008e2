package citybot

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Open311 is the platform of reports that other city apps and websites
// submit through the Open311 GeoReport v2 API (POST requests). It has no
// chat to reply to: nothing is queued in the outbox for it; the client
// gets the case reference (service_request_id) in the answer to its POST.
const Open311 Platform = "open311"

// Intakes reports whether citybot stores inbound reports from p: the chat
// platforms (Valid) and Open311.
func (p Platform) Intakes() bool { return p.Valid() || p == Open311 }

// Contact is what an Open311 client may say about the person behind a
// report (GeoReport v2's email, first_name, last_name, phone, device_id
// and account_id). It is private like a chat identity: stored apart,
// never logged, published, exported nor answered in Open311 GET requests,
// and erased with the identity (retention, forget).
type Contact struct {
	Email     string
	FirstName string
	LastName  string
	Phone     string
	DeviceID  string
	AccountID string
}

// Empty reports whether c holds nothing.
func (c Contact) Empty() bool { return c == Contact{} }

// Report is one report submitted by an Open311 client (POST requests).
type Report struct {
	// Client is the name of the API key the report came with.
	Client string
	// ServiceCode is the service (a citybot topic) the client chose.
	ServiceCode string
	// Description is the citizen's text; untrusted.
	Description string
	// Location, Address and AddressID say where; at least one is set.
	Location  *Location
	Address   string
	AddressID string
	// MediaURL is a picture of the problem, as a URL the client gave.
	MediaURL string
	// Danger is the answer to the service's "danger" attribute: someone
	// is in danger now. It makes the case critical.
	Danger bool
	// Language is the client's language hint (BCP 47); may be empty.
	Language string
	Contact  Contact
	// IdempotencyKey, when set, names the report for its client: the
	// same key posted again (a retry after a lost answer) opens no
	// second case and gets the first one's receipt.
	IdempotencyKey string
}

// ReportReceipt is what became of a Report.
type ReportReceipt struct {
	// Ref is the case reference, the service_request_id.
	Ref CaseRef
	// Sensitive is true when the case is sensitive: it is not listed in
	// public (Open311 GET requests answer 404 for it).
	Sensitive bool
	// Language is the language the report was understood in.
	Language string
	// Repeated is true when the report was a retry of one already
	// stored (Report.IdempotencyKey): nothing new was stored.
	Repeated bool
}

// ReportSubmitter turns a report from another app into a case, as a chat
// message would become one (same classifier, case rules, service levels,
// alerts and sensitive flag). It must be safe for concurrent use. Errors
// wrap ErrInvalid for a report that can never be stored.
type ReportSubmitter interface {
	SubmitReport(ctx context.Context, r Report) (ReportReceipt, error)
}

// Open311Key is an API key a city gave to another app. Only a hash of
// the key is stored; the key itself is shown once, when it is made.
type Open311Key struct {
	ID        int64
	Name      string // the client's name, unique among active keys
	CreatedAt time.Time
	CreatedBy string
	RevokedAt *time.Time // nil while the key works
	RevokedBy string
}

// Active reports whether the key still works.
func (k Open311Key) Active() bool { return k.RevokedAt == nil }

// apiKeyPrefix starts every Open311 API key, so that a leaked key is
// easy to recognise.
const apiKeyPrefix = "c311_"

// NewAPIKey returns a new random Open311 API key (160 bits).
func NewAPIKey() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("citybot: api key: %w", err)
	}
	return apiKeyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// HashAPIKey returns the stored form of an API key: SHA-256, hex. Keys
// are random, so a fast hash is enough.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
	return hex.EncodeToString(sum[:])
}
