package web

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/locale"
)

// Open311 GeoReport v2, read side: services are citybot's topics (the
// sensitive ones left out), each with a service definition (one
// attribute, "danger"); requests are cases without any citizen text or
// identity, sensitive cases left out. Datetimes are W3C (RFC 3339) in the
// city's time zone; lat and long are rounded to about 100 m, and null
// when unknown. A jurisdiction_id other than the configured one is
// answered 404; every error is the specification's list of {code,
// description}, in JSON or XML. The write side (POST requests) is
// Open311Intake.

// open311Service is one service of GET services.{json,xml}.
type open311Service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

// open311Request is one request of GET requests.{json,xml}.
type open311Request struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ServiceRequestID  string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       string   `json:"status_notes" xml:"status_notes"`
	ServiceName       string   `json:"service_name" xml:"service_name"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       string   `json:"description" xml:"description"`
	AgencyResponsible string   `json:"agency_responsible" xml:"agency_responsible"`
	ServiceNotice     string   `json:"service_notice" xml:"service_notice"`
	RequestedDatetime string   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   string   `json:"updated_datetime" xml:"updated_datetime"`
	ExpectedDatetime  *string  `json:"expected_datetime" xml:"expected_datetime"`
	Address           string   `json:"address" xml:"address"`
	AddressID         string   `json:"address_id" xml:"address_id"`
	Zipcode           string   `json:"zipcode" xml:"zipcode"`
	Lat               *float64 `json:"lat" xml:"lat"`
	Long              *float64 `json:"long" xml:"long"`
	MediaURL          string   `json:"media_url" xml:"media_url"`
}

// open311RequestXML is open311Request for XML, where every field is an
// element (empty when unknown).
type open311RequestXML struct {
	XMLName           xml.Name `xml:"request"`
	ServiceRequestID  string   `xml:"service_request_id"`
	Status            string   `xml:"status"`
	StatusNotes       string   `xml:"status_notes"`
	ServiceName       string   `xml:"service_name"`
	ServiceCode       string   `xml:"service_code"`
	Description       string   `xml:"description"`
	AgencyResponsible string   `xml:"agency_responsible"`
	ServiceNotice     string   `xml:"service_notice"`
	RequestedDatetime string   `xml:"requested_datetime"`
	UpdatedDatetime   string   `xml:"updated_datetime"`
	ExpectedDatetime  string   `xml:"expected_datetime"`
	Address           string   `xml:"address"`
	AddressID         string   `xml:"address_id"`
	Zipcode           string   `xml:"zipcode"`
	Lat               string   `xml:"lat"`
	Long              string   `xml:"long"`
	MediaURL          string   `xml:"media_url"`
}

func (r open311Request) toXML() open311RequestXML {
	x := open311RequestXML{ServiceRequestID: r.ServiceRequestID, Status: r.Status, StatusNotes: r.StatusNotes,
		ServiceName: r.ServiceName, ServiceCode: r.ServiceCode, Description: r.Description, AgencyResponsible: r.AgencyResponsible,
		ServiceNotice: r.ServiceNotice, RequestedDatetime: r.RequestedDatetime, UpdatedDatetime: r.UpdatedDatetime,
		Address: r.Address, AddressID: r.AddressID, Zipcode: r.Zipcode, MediaURL: r.MediaURL}
	if r.ExpectedDatetime != nil {
		x.ExpectedDatetime = *r.ExpectedDatetime
	}
	if r.Lat != nil && r.Long != nil {
		x.Lat, x.Long = strconv.FormatFloat(*r.Lat, 'f', -1, 64), strconv.FormatFloat(*r.Long, 'f', -1, 64)
	}
	return x
}

type open311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

// open311 serves services.{json,xml} and requests.{json,xml}.
func (p *Public) open311(w http.ResponseWriter, r *http.Request) {
	name, format, ok := strings.Cut(r.PathValue("file"), ".")
	if !ok || (format != "json" && format != "xml") {
		p.open311Fail(w, "json", http.StatusNotFound, "unknown resource or format (json or xml)")
		return
	}
	if !p.jurisdictionOK(w, r, format) {
		return
	}
	switch name {
	case "services":
		p.services(w, r, format)
	case "requests":
		p.requests(w, r, format)
	default:
		p.open311Fail(w, format, http.StatusNotFound, "unknown resource")
	}
}

func (p *Public) services(w http.ResponseWriter, r *http.Request, format string) {
	lang := p.lang(r)
	var out []open311Service
	for _, t := range p.topics {
		if p.isSensitive(t) {
			continue
		}
		out = append(out, open311Service{
			ServiceCode: t, ServiceName: p.figures.TopicName(lang, t),
			Description: p.figures.TopicName(lang, t), Metadata: true, Type: "realtime",
			Keywords: strings.ReplaceAll(t, "_", ","), Group: "city",
		})
	}
	open311Write(p, w, format, "services", out)
}

func (p *Public) isSensitive(topic string) bool {
	for _, s := range p.sensitive {
		if s == topic {
			return true
		}
	}
	return false
}

// Paging of GET requests (an extension of the specification): page
// counts from 1, page_size is 1 to open311MaxPage (the default). Requests
// come newest first, then by case number, so pages are stable while no
// report arrives; a full page carries a Link header to the next one.
const open311MaxPage = 1000

// requests lists requests: service_request_id (comma separated),
// service_code, start_date, end_date (W3C datetimes; the default is the
// last 90 days) and status (open, closed) filter; page and page_size
// page them.
func (p *Public) requests(w http.ResponseWriter, r *http.Request, format string) {
	q := r.URL.Query()
	// Sensitive cases are left out by the store, by their flag.
	pq := citybot.PublicCaseQuery{Limit: open311MaxPage, Topic: q.Get("service_code")}
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			p.open311Fail(w, format, http.StatusBadRequest, "page must be a whole number from 1")
			return
		}
		page = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > open311MaxPage {
			p.open311Fail(w, format, http.StatusBadRequest, fmt.Sprintf("page_size must be a whole number from 1 to %d", open311MaxPage))
			return
		}
		pq.Limit = n
	}
	pq.Offset = (page - 1) * pq.Limit
	if ids := q.Get("service_request_id"); ids != "" {
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id != "" && len(pq.Refs) < 100 {
				pq.Refs = append(pq.Refs, citybot.CaseRef(id))
			}
		}
	}
	var err error
	if pq.After, err = parseW3C(q.Get("start_date")); err != nil {
		p.open311Fail(w, format, http.StatusBadRequest, "start_date must be a W3C datetime")
		return
	}
	if pq.Before, err = parseW3C(q.Get("end_date")); err != nil {
		p.open311Fail(w, format, http.StatusBadRequest, "end_date must be a W3C datetime")
		return
	}
	if pq.After.IsZero() && pq.Before.IsZero() && len(pq.Refs) == 0 {
		pq.After = p.now().Add(-90 * 24 * time.Hour)
	}
	switch s := q.Get("status"); s {
	case "":
	case "open", "closed":
		open := s == "open"
		pq.Open = &open
	default:
		p.open311Fail(w, format, http.StatusBadRequest, "status must be open or closed")
		return
	}
	next := ""
	if len(pq.Refs) == 0 {
		// The next page, when this one is full, keeps every filter.
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		q.Set("page_size", strconv.Itoa(pq.Limit))
		next = `<` + r.URL.Path + "?" + q.Encode() + `>; rel="next"`
	}
	p.writeRequests(w, r, format, pq, next)
}

// request serves requests/{id}.{json,xml}: a list of one, as the
// specification says.
func (p *Public) request(w http.ResponseWriter, r *http.Request) {
	id, format, ok := strings.Cut(r.PathValue("file"), ".")
	if !ok || (format != "json" && format != "xml") || id == "" {
		p.open311Fail(w, "json", http.StatusNotFound, "use requests/{id}.json or .xml")
		return
	}
	if !p.jurisdictionOK(w, r, format) {
		return
	}
	p.writeRequests(w, r, format, citybot.PublicCaseQuery{Refs: []citybot.CaseRef{citybot.CaseRef(id)}, Limit: 1}, "")
}

// writeRequests answers the cases pq selects; next, when set, is the
// Link header to the next page, sent when this page is full.
func (p *Public) writeRequests(w http.ResponseWriter, r *http.Request, format string, pq citybot.PublicCaseQuery, next string) {
	cases, err := p.store.PublicCases(r.Context(), pq)
	if err != nil {
		p.log.Error("open311 requests", "err", err)
		p.open311Fail(w, format, http.StatusInternalServerError, "internal error")
		return
	}
	if len(pq.Refs) == 1 && pq.Limit == 1 && len(cases) == 0 {
		p.open311Fail(w, format, http.StatusNotFound, "no such request")
		return
	}
	if next != "" && len(cases) == pq.Limit {
		w.Header().Set("Link", next)
	}
	lang := p.lang(r)
	out := make([]open311Request, 0, len(cases))
	for _, c := range cases {
		out = append(out, p.open311Case(c, lang))
	}
	if format == "xml" {
		xs := make([]open311RequestXML, len(out))
		for i, o := range out {
			xs[i] = o.toXML()
		}
		open311Write(p, w, format, "service_requests", xs)
		return
	}
	open311Write(p, w, format, "service_requests", out)
}

func (p *Public) open311Case(c citybot.PublicCase, lang string) open311Request {
	status := "open"
	if !c.Status.Open() {
		status = "closed"
	}
	name := p.figures.TopicName(lang, c.Topic)
	desc := name
	// The store gives only public places (the gazetteer's, or street-like
	// text); invisible characters are removed once more here.
	places := make([]string, 0, len(c.Places))
	for _, pl := range c.Places {
		if pl = citybot.VisibleText(pl); pl != "" {
			places = append(places, pl)
		}
	}
	if len(places) > 0 {
		desc += " — " + strings.Join(places, ", ")
	}
	if c.Reporters > 1 {
		// How many citizens reported it (grouping's followers), never
		// who: "Water — Main Street — reported by 12 citizens".
		desc += " — " + publicTexts{wordsFor(p.locs, lang)}.Tn("public.reported_by", c.Reporters)
	}
	req := open311Request{
		ServiceRequestID: string(c.Ref), Status: status, StatusNotes: p.statusNote(c.Status, lang),
		ServiceName: name, ServiceCode: c.Topic, Description: desc, AgencyResponsible: p.agency,
		RequestedDatetime: p.w3c(c.OpenedAt), UpdatedDatetime: p.w3c(c.UpdatedAt),
		Address: strings.Join(places, ", "),
	}
	if c.ExpectedBy != nil {
		s := p.w3c(*c.ExpectedBy)
		req.ExpectedDatetime = &s
	}
	if c.Location != nil {
		lat, lon := c.Location.Latitude, c.Location.Longitude
		req.Lat, req.Long = &lat, &lon
	}
	return req
}

func (p *Public) w3c(t time.Time) string { return t.In(p.loc).Format(time.RFC3339) }

func parseW3C(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad datetime")
}

// statusNote says where a case stands, in words of lang (the
// [chat.statuses] table of its language file).
func (p *Public) statusNote(s citybot.CaseStatus, lang string) string {
	if c := p.locs.Catalog(lang); c != nil {
		if w := c.Table("chat.statuses")[string(s)]; w != "" {
			return capitalize(w)
		}
	}
	return string(s)
}

// xmlList is a root element around a list of items (each carries its
// own element name).
type xmlList[T any] struct {
	XMLName xml.Name
	Items   []T
}

func open311Write[T any](p *Public, w http.ResponseWriter, format, root string, v []T) {
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write([]byte(xml.Header))
		if err := xml.NewEncoder(w).Encode(xmlList[T]{XMLName: xml.Name{Local: root}, Items: v}); err != nil {
			p.log.Error("open311 xml", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if v == nil {
		v = []T{}
	}
	if err := json.NewEncoder(w).Encode(v); err != nil {
		p.log.Error("open311 json", "err", err)
	}
}

func (p *Public) open311Fail(w http.ResponseWriter, format string, code int, msg string) {
	open311Fail(w, p.log, format, code, msg)
}

// open311Fail answers code with the specification's error list (one
// {code, description}) in format: <errors><error>… in XML.
func open311Fail(w http.ResponseWriter, log *slog.Logger, format string, code int, msg string) {
	e := []open311Error{{Code: code, Description: msg}}
	var err error
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(code)
		w.Write([]byte(xml.Header))
		err = xml.NewEncoder(w).Encode(xmlList[open311Error]{XMLName: xml.Name{Local: "errors"}, Items: e})
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		err = json.NewEncoder(w).Encode(e)
	}
	if err != nil {
		log.Debug("open311 error not written", "err", err)
	}
}

// jurisdictionOK answers 404 and returns false when the request names
// another jurisdiction than the configured one (or any, when none is
// configured); a request that names none is for this one.
func (p *Public) jurisdictionOK(w http.ResponseWriter, r *http.Request, format string) bool {
	return checkJurisdiction(w, r, p.log, format, p.jurisdiction)
}

func checkJurisdiction(w http.ResponseWriter, r *http.Request, log *slog.Logger, format, want string) bool {
	got := r.FormValue("jurisdiction_id")
	if got == "" || got == want {
		return true
	}
	open311Fail(w, log, format, http.StatusNotFound, "jurisdiction_id not found")
	return false
}

// open311Definition is GET services/{code}: the service's attributes.
type open311Definition struct {
	XMLName     xml.Name           `json:"-" xml:"service_definition"`
	ServiceCode string             `json:"service_code" xml:"service_code"`
	Attributes  []open311Attribute `json:"attributes" xml:"attributes>attribute"`
}

type open311Attribute struct {
	Variable            bool           `json:"variable" xml:"variable"`
	Code                string         `json:"code" xml:"code"`
	Datatype            string         `json:"datatype" xml:"datatype"`
	Required            bool           `json:"required" xml:"required"`
	DatatypeDescription string         `json:"datatype_description" xml:"datatype_description"`
	Order               int            `json:"order" xml:"order"`
	Description         string         `json:"description" xml:"description"`
	Values              []open311Value `json:"values" xml:"values>value"`
}

type open311Value struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

// Danger is the one attribute of every service: "is someone in danger
// right now?", yes or no, not required. Yes makes the case critical.
const (
	dangerCode = "danger"
	dangerYes  = "yes"
	dangerNo   = "no"
)

// serviceDefinition is the definition of service code in cat's language.
func serviceDefinition(cat *locale.Catalog, code string) open311Definition {
	return open311Definition{ServiceCode: code, Attributes: []open311Attribute{{
		Variable: true, Code: dangerCode, Datatype: "singlevaluelist", Required: false, Order: 1,
		Description: cat.Text("open311.danger"),
		Values:      []open311Value{{Key: dangerYes, Name: cat.Text("open311.danger_yes")}, {Key: dangerNo, Name: cat.Text("open311.danger_no")}},
	}}}
}

// serviceDef serves services/{code}.{json,xml}.
func (p *Public) serviceDef(w http.ResponseWriter, r *http.Request) {
	code, format, ok := strings.Cut(r.PathValue("file"), ".")
	if !ok || (format != "json" && format != "xml") || code == "" {
		p.open311Fail(w, "json", http.StatusNotFound, "use services/{service_code}.json or .xml")
		return
	}
	if !p.jurisdictionOK(w, r, format) {
		return
	}
	if !slices.Contains(p.topics, code) || p.isSensitive(code) {
		p.open311Fail(w, format, http.StatusNotFound, "service_code not found")
		return
	}
	def := serviceDefinition(p.catalog(p.lang(r)), code)
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write([]byte(xml.Header))
		if err := xml.NewEncoder(w).Encode(def); err != nil {
			p.log.Debug("open311 xml", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err := json.NewEncoder(w).Encode(def); err != nil {
		p.log.Debug("open311 json", "err", err)
	}
}

// catalog is lang's texts, or English's.
func (p *Public) catalog(lang string) *locale.Catalog {
	if c := p.locs.Catalog(lang); c != nil {
		return c
	}
	return p.locs.Catalog(locale.Reference)
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}
