package web

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
)

// open311Discovery is Open311's service discovery document: where the
// GeoReport v2 endpoint is and how to get a key.
type open311Discovery struct {
	XMLName    xml.Name          `json:"-" xml:"discovery"`
	Changeset  string            `json:"changeset" xml:"changeset"`
	Contact    string            `json:"contact" xml:"contact"`
	KeyService string            `json:"key_service" xml:"key_service"`
	Endpoints  []open311Endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

type open311Endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

// open311Changeset is when the API last changed (this version's POST
// requests, service definitions and paging).
const open311Changeset = "2026-12-07T00:00:00Z"

// discovery serves GET /open311/discovery.{json,xml}. The endpoint's URL
// is built from the request's host, https unless the request came over
// plain HTTP without a proxy saying otherwise (X-Forwarded-Proto).
func (p *Public) discovery(w http.ResponseWriter, r *http.Request) {
	format, ok := strings.CutPrefix(r.PathValue("file"), "discovery.")
	if !ok || (format != "json" && format != "xml") {
		p.open311Fail(w, "json", http.StatusNotFound, "use discovery.json or discovery.xml")
		return
	}
	scheme := "https"
	if r.TLS == nil && r.Header.Get("X-Forwarded-Proto") != "https" {
		scheme = "http"
	}
	contact := "The city's services"
	if p.agency != "" {
		contact = p.agency
	}
	d := open311Discovery{Changeset: open311Changeset, Contact: contact,
		KeyService: "Reading needs no key. To post reports, ask the city for an API key: an administrator makes one for your app.",
		Endpoints: []open311Endpoint{{Specification: "http://wiki.open311.org/GeoReport_v2", URL: scheme + "://" + r.Host + "/open311/v2",
			Changeset: open311Changeset, Type: "production", Formats: []string{"text/xml", "application/json"}}}}
	if format == "xml" {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write([]byte(xml.Header))
		if err := xml.NewEncoder(w).Encode(d); err != nil {
			p.log.Debug("open311 xml", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err := json.NewEncoder(w).Encode(d); err != nil {
		p.log.Debug("open311 json", "err", err)
	}
}
