package web

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"citybot"
	"citybot/locale"
)

// Open311KeyStore finds the working API key behind a hash
// (citybot.HashAPIKey); citybot.ErrNotFound for an unknown or revoked
// one.
type Open311KeyStore interface {
	Open311KeyByHash(ctx context.Context, hash string) (citybot.Open311Key, error)
	// TakeRateToken spends one post of a key's token bucket, shared by
	// every process on the store (see Store).
	TakeRateToken(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error)
}

// Open311IntakeOptions configure an Open311Intake. Policy, Submitter
// and Keys are required.
type Open311IntakeOptions struct {
	// Policy is the city's: the languages of the answers
	// (service_notice), the default first; its topics are the services,
	// but for the sensitive ones.
	Policy    *citybot.Policy
	Submitter citybot.ReportSubmitter
	Keys      Open311KeyStore
	Logger    *slog.Logger     // nil discards logs
	Now       func() time.Time // nil means time.Now
	// JurisdictionID as in PublicOptions.
	JurisdictionID string
	// PerMinute is how many reports one key may post per minute, on
	// average; Burst how many at once. 0 means 10 and 20. The counts are
	// kept by Keys, so they hold across every process sharing it.
	PerMinute float64
	Burst     int
	// Locales give the texts; nil means the shipped ones.
	Locales *locale.Set
}

// Open311Intake serves Open311 GeoReport v2 POST requests.{json,xml}:
// other city apps and websites submit reports with their API key. Each
// report becomes a case through the Submitter, as a chat message would;
// the answer is its service_request_id and a service_notice. It is safe
// for concurrent use.
type Open311Intake struct {
	sub          citybot.ReportSubmitter
	keys         Open311KeyStore
	log          *slog.Logger
	now          func() time.Time
	languages    []string
	topics       []string
	sensitive    []string
	jurisdiction string
	perMinute    float64
	burst        int
	locales      *locale.Set
}

// NewOpen311Intake returns the intake, or an error wrapping
// citybot.ErrInvalid when Policy, Submitter or Keys is missing.
func NewOpen311Intake(opts Open311IntakeOptions) (*Open311Intake, error) {
	if opts.Policy == nil || opts.Submitter == nil || opts.Keys == nil {
		return nil, fmt.Errorf("web: open311 intake: %w: Policy, Submitter and Keys are required", citybot.ErrInvalid)
	}
	o := &Open311Intake{sub: opts.Submitter, keys: opts.Keys, log: opts.Logger, now: opts.Now, languages: opts.Policy.Languages(),
		topics: opts.Policy.Topics(), sensitive: opts.Policy.SensitiveTopics(), jurisdiction: opts.JurisdictionID,
		perMinute: opts.PerMinute, burst: opts.Burst, locales: opts.Locales}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.log = o.log.With("component", "open311")
	if o.now == nil {
		o.now = time.Now
	}
	if o.perMinute <= 0 {
		o.perMinute = 10
	}
	if o.burst <= 0 {
		o.burst = 20
	}
	if o.locales == nil {
		o.locales = locale.MustEmbedded()
	}
	return o, nil
}

// Routes returns POST /open311/v2/{file} (requests.json or .xml) and its
// CORS preflight, to be served beside Public's routes.
func (o *Open311Intake) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"POST /open311/v2/{file}":    http.HandlerFunc(o.post),
		"OPTIONS /open311/v2/{file}": http.HandlerFunc(o.preflight),
	}
}

// preflight lets other sites' scripts post (with their key; never with
// credentials) and read.
func (o *Open311Intake) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// open311MaxBody bounds a POST: the fields are short (description at
// most 4,000 characters); media is a URL, not a file.
const open311MaxBody = 64 << 10

// open311MaxDescription is the specification's limit on description.
const open311MaxDescription = 4000

// open311Posted is one item of the answer to POST requests.
type open311Posted struct {
	XMLName          xml.Name `json:"-" xml:"request"`
	ServiceRequestID string   `json:"service_request_id" xml:"service_request_id"`
	ServiceNotice    string   `json:"service_notice" xml:"service_notice"`
	AccountID        string   `json:"account_id" xml:"account_id"`
}

// post serves POST requests.{json,xml}. Checks come in this order, each
// answered with the specification's error list: the resource and format
// (404), jurisdiction_id (404), api_key (403: missing, unknown or
// revoked), the key's rate (429, with Retry-After), then the fields
// (400): service_code among the services, a location (lat and long, or
// address_string, or address_id), description at most 4,000 characters,
// an email address that parses, media_url an http(s) URL, attributes
// known with a known value. The answer is 201 Created with a Location
// (none for a sensitive report, which is never public);
// a retry with the Idempotency-Key header of a report already stored
// (the client lost the answer) opens no second case and is answered 200
// with the first one's service_request_id.
func (o *Open311Intake) post(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	name, format, ok := strings.Cut(r.PathValue("file"), ".")
	if !ok || (format != "json" && format != "xml") {
		open311Fail(w, o.log, "json", http.StatusNotFound, "unknown resource or format (json or xml)")
		return
	}
	if name != "requests" {
		open311Fail(w, o.log, format, http.StatusMethodNotAllowed, "only requests can be posted")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, open311MaxBody)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(open311MaxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			open311Fail(w, o.log, format, http.StatusRequestEntityTooLarge, "the request is too large")
			return
		}
		open311Fail(w, o.log, format, http.StatusBadRequest, "the request body is not a form")
		return
	}
	if !checkJurisdiction(w, r, o.log, format, o.jurisdiction) {
		return
	}
	secret := r.FormValue("api_key")
	if secret == "" {
		open311Fail(w, o.log, format, http.StatusForbidden, "api_key is required")
		return
	}
	key, err := o.keys.Open311KeyByHash(r.Context(), citybot.HashAPIKey(secret))
	switch {
	case errors.Is(err, citybot.ErrNotFound):
		o.log.Info("open311 post refused: unknown or revoked api_key")
		open311Fail(w, o.log, format, http.StatusForbidden, "api_key is not valid")
		return
	case err != nil:
		if !errors.Is(err, context.Canceled) {
			o.log.Error("open311 api key look-up", "err", err)
		}
		open311Fail(w, o.log, format, http.StatusInternalServerError, "internal error")
		return
	}
	every := time.Duration(float64(time.Minute) / o.perMinute)
	ok, wait, err := o.keys.TakeRateToken(r.Context(), fmt.Sprintf("open311:%d", key.ID), o.burst, every)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			o.log.Error("open311 rate limit", "err", err)
		}
		open311Fail(w, o.log, format, http.StatusInternalServerError, "internal error")
		return
	}
	if !ok {
		o.log.Info("open311 post refused: over the rate", "client", key.Name)
		h.Set("Retry-After", strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1)))
		open311Fail(w, o.log, format, http.StatusTooManyRequests, "too many requests for this api_key; try again later")
		return
	}
	rep, msg := o.parseReport(r)
	if msg != "" {
		open311Fail(w, o.log, format, http.StatusBadRequest, msg)
		return
	}
	rep.Client = key.Name
	rep.Language = o.lang(r, "")
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		if len(k) > 200 || strings.IndexFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
			open311Fail(w, o.log, format, http.StatusBadRequest, "Idempotency-Key must be 1 to 200 visible ASCII characters")
			return
		}
		rep.IdempotencyKey = k
	}
	got, err := o.sub.SubmitReport(r.Context(), rep)
	switch {
	case errors.Is(err, citybot.ErrInvalid):
		o.log.Info("open311 report refused", "client", key.Name, "err", err)
		open311Fail(w, o.log, format, http.StatusBadRequest, "the report cannot be registered: describe the problem and where it is")
		return
	case err != nil:
		if !errors.Is(err, context.Canceled) {
			o.log.Error("open311 report not stored", "client", key.Name, "err", err)
		}
		open311Fail(w, o.log, format, http.StatusInternalServerError, "internal error; the report was not registered, post it again")
		return
	}
	o.log.Info("open311 report registered", "client", key.Name, "ref", got.Ref, "sensitive", got.Sensitive, "repeated", got.Repeated)
	status := http.StatusCreated
	if got.Repeated {
		status = http.StatusOK // a retry: the case exists already
	}
	cat := o.catalog(o.lang(r, got.Language))
	notice := cat.Text("open311.notice")
	if got.Sensitive {
		notice = cat.Text("open311.notice_sensitive")
	}
	out := []open311Posted{{ServiceRequestID: string(got.Ref), ServiceNotice: strings.ReplaceAll(notice, "{ref}", string(got.Ref)),
		AccountID: rep.Contact.AccountID}}
	if !got.Sensitive { // a sensitive request cannot be read back
		h.Set("Location", "/open311/v2/requests/"+url.PathEscape(string(got.Ref))+"."+format)
	}
	if format == "xml" {
		h.Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		w.Write([]byte(xml.Header))
		if err := xml.NewEncoder(w).Encode(xmlList[open311Posted]{XMLName: xml.Name{Local: "service_requests"}, Items: out}); err != nil {
			o.log.Debug("open311 xml", "err", err)
		}
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(out); err != nil {
		o.log.Debug("open311 json", "err", err)
	}
}

// parseReport reads the form into a Report, or says in msg what is
// wrong.
func (o *Open311Intake) parseReport(r *http.Request) (rep citybot.Report, msg string) {
	f := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	rep.ServiceCode = f("service_code")
	switch {
	case rep.ServiceCode == "":
		return rep, "service_code is required"
	case !slices.Contains(o.topics, rep.ServiceCode) || slices.Contains(o.sensitive, rep.ServiceCode):
		return rep, "service_code not found"
	}
	for k, v := range map[string]string{"description": f("description"), "address_string": f("address_string"), "address_id": f("address_id"),
		"media_url": f("media_url")} {
		if !utf8.ValidString(v) {
			return rep, k + " is not valid UTF-8"
		}
	}
	rep.Description = f("description")
	if utf8.RuneCountInString(rep.Description) > open311MaxDescription {
		return rep, fmt.Sprintf("description is longer than %d characters", open311MaxDescription)
	}
	lat, long := f("lat"), f("long")
	switch {
	case lat != "" || long != "":
		la, err1 := strconv.ParseFloat(lat, 64)
		lo, err2 := strconv.ParseFloat(long, 64)
		if err1 != nil || err2 != nil || math.IsNaN(la) || math.IsNaN(lo) || la < -90 || la > 90 || lo < -180 || lo > 180 {
			return rep, "lat and long must be decimal degrees (WGS84), both given"
		}
		rep.Location = &citybot.Location{Latitude: la, Longitude: lo}
	}
	rep.Address, rep.AddressID = clip(f("address_string"), 500), clip(f("address_id"), 100)
	if rep.Location == nil && rep.Address == "" && rep.AddressID == "" {
		return rep, "a location is required: lat and long, address_string or address_id"
	}
	if rep.AddressID != "" && rep.Address == "" {
		rep.Address = rep.AddressID
	}
	if u := f("media_url"); u != "" {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || len(u) > 2000 {
			return rep, "media_url must be an http or https URL"
		}
		rep.MediaURL = u
	}
	rep.Contact = citybot.Contact{Email: f("email"), FirstName: clip(f("first_name"), 100), LastName: clip(f("last_name"), 100),
		Phone: clip(f("phone"), 40), DeviceID: clip(f("device_id"), 200), AccountID: clip(f("account_id"), 200)}
	if e := rep.Contact.Email; e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 254 {
			return rep, "email is not an email address"
		}
	}
	for k, vs := range r.Form {
		code, ok := strings.CutPrefix(k, "attribute[")
		if !ok {
			continue
		}
		code = strings.TrimSuffix(strings.TrimSuffix(code, "[]"), "]")
		if code != dangerCode {
			return rep, "attribute " + strconv.Quote(clip(code, 40)) + " is not an attribute of this service"
		}
		for _, v := range vs {
			switch strings.TrimSpace(v) {
			case dangerYes:
				rep.Danger = true
			case dangerNo, "":
			default:
				return rep, "attribute[danger] must be yes or no"
			}
		}
	}
	return rep, ""
}

// lang is the answer's language: ?lang=, Accept-Language, then the
// report's (detected); "" when none is among the languages (the city's
// is then used).
func (o *Open311Intake) lang(r *http.Request, detected string) string {
	if l := r.URL.Query().Get("lang"); slices.Contains(o.languages, l) {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag, _, _ = strings.Cut(strings.ToLower(tag), "-")
		if slices.Contains(o.languages, tag) {
			return tag
		}
	}
	if slices.Contains(o.languages, detected) {
		return detected
	}
	return ""
}

func (o *Open311Intake) catalog(lang string) *locale.Catalog {
	if lang == "" {
		lang = o.languages[0]
	}
	if c := o.locales.Catalog(lang); c != nil {
		return c
	}
	return o.locales.Catalog(locale.Reference)
}
