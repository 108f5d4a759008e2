package web

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

var _ Open311KeyStore = (*store.DB)(nil)

// o311Rig is the Open311 API, read and write, on a real store with the
// real pipeline and classifier, served over HTTP on 127.0.0.1.
type o311Rig struct {
	*pubRig
	srv      *httptest.Server
	secret   string
	kicks    atomic.Int32 // critical alerts the pipeline raised
	logs     *syncBuffer
	pub      *Public
	intake   *Open311Intake
	jurisdic string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newO311Rig(t *testing.T, perMinute float64, burst int) *o311Rig {
	t.Helper()
	rg := &o311Rig{pubRig: newPubRig(t), logs: &syncBuffer{}, jurisdic: "testville.example"}
	logger := slog.New(slog.NewTextHandler(rg.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cls, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := responder.New(responder.Options{Policy: testPolicy(t), Store: rg.db, Classifier: cls, Now: rg.clock.Now, Logger: logger,
		Critical: func() { rg.kicks.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	rg.pub, err = NewPublic(PublicOptions{Policy: testPolicy(t), Store: rg.db, Figures: rg.dg, Now: rg.clock.Now, Agency: "City of Testville",
		JurisdictionID: rg.jurisdic, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	rg.intake, err = NewOpen311Intake(Open311IntakeOptions{Policy: testPolicy(t), Submitter: resp, Keys: rg.db, Now: rg.clock.Now, Logger: logger,
		JurisdictionID: rg.jurisdic, PerMinute: perMinute, Burst: burst})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	rg.pub.Register(mux)
	for p, h := range rg.intake.Routes() {
		mux.Handle(p, h)
	}
	rg.srv = httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(rg.srv.Close)
	if _, rg.secret, err = rg.db.CreateOpen311Key(rg.ctx, "Neighbourhood app", "admin"); err != nil {
		t.Fatal(err)
	}
	return rg
}

// postForm posts form to path and returns the status, body and headers.
func (rg *o311Rig) postForm(path string, form url.Values) (int, string, http.Header) {
	rg.t.Helper()
	resp, err := http.PostForm(rg.srv.URL+path, form)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (rg *o311Rig) getURL(path string) (int, string, http.Header) {
	rg.t.Helper()
	resp, err := http.Get(rg.srv.URL + path)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// pothole is a valid report with every field of the specification.
func (rg *o311Rig) pothole() url.Values {
	return url.Values{
		"api_key": {rg.secret}, "jurisdiction_id": {rg.jurisdic}, "service_code": {"roads"},
		"lat": {"48.8566123"}, "long": {"2.3522456"}, "address_string": {"Rue de Rivoli"},
		"description": {"A deep pothole on rue de Rivoli near the Louvre, cars swerve around it."},
		"media_url":   {"https://photos.example.net/p/1.jpg"},
		"email":       {"lena.petit@example.org"}, "first_name": {"Léna"}, "last_name": {"Petitjean"}, "phone": {"+33 6 55 44 33 22"},
		"device_id": {"device-77aa"}, "account_id": {"acct-9911"}, "attribute[danger]": {"no"},
	}
}

// wantErrors checks that body is the specification's error list with
// code, in JSON or XML.
func wantErrors(t *testing.T, what, format, body string, code int) {
	t.Helper()
	type e struct {
		Code        int    `json:"code" xml:"code"`
		Description string `json:"description" xml:"description"`
	}
	var es []e
	if format == "xml" {
		var doc struct {
			XMLName xml.Name
			Errors  []e `xml:"error"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil || doc.XMLName.Local != "errors" {
			t.Fatalf("%s: not an <errors> list: %v %s", what, err, body)
		}
		es = doc.Errors
	} else {
		var raw []map[string]any
		if err := json.Unmarshal([]byte(body), &raw); err != nil {
			t.Fatalf("%s: not a JSON list: %v %s", what, err, body)
		}
		for _, r := range raw {
			c, ok1 := r["code"].(float64)
			d, ok2 := r["description"].(string)
			if !ok1 || !ok2 || len(r) != 2 {
				t.Fatalf("%s: error item %v is not {code: number, description: string}", what, r)
			}
			es = append(es, e{int(c), d})
		}
	}
	if len(es) != 1 || es[0].Code != code || es[0].Description == "" {
		t.Fatalf("%s: errors %+v, want one with code %d", what, es, code)
	}
}

// TestOpen311PostAcceptance is the acceptance test: a request
// posted with a key, without one, with a bad one, over the rate, and
// read back; the case it opened is a case like a chat message's.
func TestOpen311PostAcceptance(t *testing.T) {
	rg := newO311Rig(t, 2, 3) // 2 a minute, 3 at once
	rg.clock.Set(pubWeek.Add(9 * time.Hour))

	// With a key: 201 and the specification's answer.
	code, body, h := rg.postForm("/open311/v2/requests.json", rg.pothole())
	if code != http.StatusCreated || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("post: %d %s", code, body)
	}
	var posted []map[string]any
	if err := json.Unmarshal([]byte(body), &posted); err != nil || len(posted) != 1 {
		t.Fatalf("answer: %v %s", err, body)
	}
	for f, typ := range map[string]string{"service_request_id": "string", "service_notice": "string", "account_id": "string"} {
		v, ok := posted[0][f]
		if !ok {
			t.Errorf("answer lacks %s", f)
		}
		checkType(t, "answer", f, typ, v)
	}
	ref, _ := posted[0]["service_request_id"].(string)
	if ref == "" || !strings.Contains(posted[0]["service_notice"].(string), ref) || posted[0]["account_id"] != "acct-9911" {
		t.Fatalf("answer %v", posted[0])
	}
	if h.Get("Location") != "/open311/v2/requests/"+ref+".json" {
		t.Errorf("Location %q", h.Get("Location"))
	}

	// Read back: the case, with the specification's fields, without
	// the citizen's text.
	code, body, _ = rg.getURL("/open311/v2/requests/" + ref + ".json")
	if code != http.StatusOK {
		t.Fatalf("read back: %d %s", code, body)
	}
	var back []map[string]any
	if err := json.Unmarshal([]byte(body), &back); err != nil || len(back) != 1 {
		t.Fatalf("read back: %v %s", err, body)
	}
	for f, typ := range open311RequestFields() {
		v, ok := back[0][f]
		if !ok {
			t.Errorf("request lacks %s", f)
		}
		checkType(t, "request", f, typ, v)
	}
	if back[0]["service_request_id"] != ref || back[0]["service_code"] != "roads" || back[0]["status"] != "open" ||
		back[0]["lat"] != 48.857 || back[0]["long"] != 2.352 {
		t.Fatalf("read back %v", back[0])
	}
	if strings.Contains(body, "swerve") {
		t.Fatalf("the citizen's text is public: %s", body)
	}

	// The case is a case like a chat message's, on platform open311,
	// and nothing is queued to answer it.
	cs, err := rg.db.Inbox(rg.ctx, citybot.CaseFilter{Limit: 10})
	if err != nil || len(cs) != 1 {
		t.Fatalf("inbox: %v %d", err, len(cs))
	}
	c := cs[0]
	if string(c.Ref) != ref || c.Platform != citybot.Open311 || c.Topic != "roads" || c.Urgency == citybot.UrgencyCritical {
		t.Fatalf("case %+v", c)
	}
	msgs, err := rg.db.CaseMessages(rg.ctx, c.ID)
	if err != nil || len(msgs) != 1 || msgs[0].Classification == nil || !strings.Contains(msgs[0].Text, "swerve") ||
		!strings.Contains(msgs[0].Text, "https://photos.example.net/p/1.jpg") {
		t.Fatalf("message %+v %v", msgs, err)
	}
	if out, _ := rg.db.OutboxItems(rg.ctx, ""); len(out) != 0 {
		t.Fatalf("%d outbox rows queued for an Open311 report", len(out))
	}

	// Without a key, with a bad one, with a revoked one: 403, in the
	// specification's format, in JSON and XML; nothing stored.
	for _, tc := range []struct{ name, key, format string }{
		{"no key", "", "json"}, {"no key", "", "xml"}, {"bad key", rg.secret + "x", "json"},
		{"bad key", "c311_notakey", "xml"},
	} {
		f := rg.pothole()
		if tc.key == "" {
			f.Del("api_key")
		} else {
			f.Set("api_key", tc.key)
		}
		code, body, _ := rg.postForm("/open311/v2/requests."+tc.format, f)
		if code != http.StatusForbidden {
			t.Fatalf("%s: %d %s", tc.name, code, body)
		}
		wantErrors(t, tc.name, tc.format, body, http.StatusForbidden)
	}

	// Over the rate: the burst is 3 and one is spent; the fourth within
	// the same instant is refused; a minute later one more is allowed.
	for i := 0; i < 2; i++ {
		if code, body, _ := rg.postForm("/open311/v2/requests.json", rg.pothole()); code != http.StatusCreated {
			t.Fatalf("post %d within the burst: %d %s", i+2, code, body)
		}
	}
	code, body, h = rg.postForm("/open311/v2/requests.json", rg.pothole())
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("over the rate: %d %s %v", code, body, h)
	}
	wantErrors(t, "over the rate", "json", body, http.StatusTooManyRequests)
	// Another client has its own rate.
	_, other, err := rg.db.CreateOpen311Key(rg.ctx, "Other app", "admin")
	if err != nil {
		t.Fatal(err)
	}
	f := rg.pothole()
	f.Set("api_key", other)
	if code, body, _ := rg.postForm("/open311/v2/requests.xml", f); code != http.StatusCreated || !strings.Contains(body, "<service_requests><request><service_request_id>") {
		t.Fatalf("other client: %d %s", code, body)
	}
	rg.clock.Set(rg.clock.Now().Add(time.Minute))
	if code, body, _ := rg.postForm("/open311/v2/requests.json", rg.pothole()); code != http.StatusCreated {
		t.Fatalf("a minute later: %d %s", code, body)
	}
	// Revoked: refused at once.
	if err := rg.db.RevokeOpen311Key(rg.ctx, "Other app", "admin"); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := rg.postForm("/open311/v2/requests.json", f); code != http.StatusForbidden {
		t.Fatalf("revoked key: %d %s", code, body)
	}
	if n, _ := rg.db.Inbox(rg.ctx, citybot.CaseFilter{Limit: 100}); len(n) != 5 {
		t.Fatalf("%d cases, want 5 (the refused posts store nothing)", len(n))
	}
	if rg.kicks.Load() != 0 {
		t.Fatalf("critical alerts for reports nobody said were dangerous")
	}

	// Officers read it on the console like any case.
	cookie, _ := rg.staff("olivia", citybot.RoleOfficer)
	if code, page, _ := rg.get("/cases/"+strconv.FormatInt(int64(c.ID), 10), cookie); code != http.StatusOK || !strings.Contains(page, "swerve") {
		t.Fatalf("case page: %d", code)
	}
	if code, page, _ := rg.get("/inbox", cookie); code != http.StatusOK || !strings.Contains(page, ref) {
		t.Fatalf("inbox: %d", code)
	}

	// An officer answers and resolves it: both are kept (first answer,
	// status), nothing waits to be sent to a chat that does not exist,
	// and the request reads closed.
	rg.clock.Set(rg.clock.Now().Add(time.Hour))
	if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "The road team fills it on Tuesday.", "a1"); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.off.ChangeStatus(rg.ctx, c.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, "s1"); err != nil {
		t.Fatal(err)
	}
	out, err := rg.db.OutboxItems(rg.ctx, "")
	if err != nil || len(out) == 0 {
		t.Fatalf("the answer is not recorded: %v", err)
	}
	for _, it := range out {
		if it.State != citybot.OutboxFailed || !strings.Contains(it.LastError, "Open311") {
			t.Errorf("outbox row %s: %s %q, want given up with the reason", it.Out.Key, it.State, it.LastError)
		}
	}
	if code, body, _ := rg.getURL("/open311/v2/requests/" + ref + ".json"); code != http.StatusOK || !strings.Contains(body, `"status":"closed"`) ||
		strings.Contains(body, "Tuesday") {
		t.Fatalf("resolved request: %d %s", code, body)
	}
}

// TestOpen311PostRules checks each field rule of POST requests and the
// answers for a danger report and a sensitive one.
func TestOpen311PostRules(t *testing.T) {
	rg := newO311Rig(t, 1000, 1000)
	rg.clock.Set(pubWeek.Add(9 * time.Hour))
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		code   int
	}{
		{"no service_code", func(f url.Values) { f.Del("service_code") }, 400},
		{"unknown service_code", func(f url.Values) { f.Set("service_code", "dragons") }, 400},
		{"sensitive topic is no service", func(f url.Values) { f.Set("service_code", "corruption") }, 400},
		{"no location", func(f url.Values) { f.Del("lat"); f.Del("long"); f.Del("address_string") }, 400},
		{"lat without long", func(f url.Values) { f.Del("long"); f.Del("address_string") }, 400},
		{"lat out of range", func(f url.Values) { f.Set("lat", "91") }, 400},
		{"lat not a number", func(f url.Values) { f.Set("lat", "north") }, 400},
		{"description too long", func(f url.Values) { f.Set("description", strings.Repeat("é", 4001)) }, 400},
		{"bad email", func(f url.Values) { f.Set("email", "not an address") }, 400},
		{"media_url not http", func(f url.Values) { f.Set("media_url", "javascript:alert(1)") }, 400},
		{"unknown attribute", func(f url.Values) { f.Set("attribute[colour]", "red") }, 400},
		{"bad attribute value", func(f url.Values) { f.Set("attribute[danger]", "maybe") }, 400},
		{"other jurisdiction", func(f url.Values) { f.Set("jurisdiction_id", "elsewhere.example") }, 404},
		{"address only", func(f url.Values) { f.Del("lat"); f.Del("long") }, 201},
		{"address_id only", func(f url.Values) {
			f.Del("lat")
			f.Del("long")
			f.Del("address_string")
			f.Set("address_id", "BAN-75101-0042")
		}, 201},
		{"no jurisdiction_id (this one)", func(f url.Values) { f.Del("jurisdiction_id") }, 201},
		{"description of 4000 characters", func(f url.Values) { f.Set("description", strings.Repeat("é", 4000)) }, 201},
	} {
		for _, format := range []string{"json", "xml"} {
			f := rg.pothole()
			tc.change(f)
			code, body, _ := rg.postForm("/open311/v2/requests."+format, f)
			if code != tc.code {
				t.Errorf("%s (%s): %d, want %d: %s", tc.name, format, code, tc.code, body)
				continue
			}
			if code >= 400 {
				wantErrors(t, tc.name, format, body, code)
			}
		}
	}
	// A GET-only resource cannot be posted to.
	if code, body, _ := rg.postForm("/open311/v2/services.json", rg.pothole()); code != http.StatusMethodNotAllowed {
		t.Errorf("post services: %d %s", code, body)
	} else {
		wantErrors(t, "post services", "json", body, code)
	}

	// Danger: the case is critical and officers are alerted.
	f := rg.pothole()
	f.Set("attribute[danger]", "yes")
	f.Set("description", "A manhole cover is missing on the pavement")
	code, body, _ := rg.postForm("/open311/v2/requests.json", f)
	if code != http.StatusCreated {
		t.Fatalf("danger: %d %s", code, body)
	}
	var posted []map[string]any
	json.Unmarshal([]byte(body), &posted)
	ref := posted[0]["service_request_id"].(string)
	c := rg.caseByRef(ref)
	if c.Urgency != citybot.UrgencyCritical || rg.kicks.Load() != 1 {
		t.Fatalf("danger: urgency %s, %d alerts", c.Urgency, rg.kicks.Load())
	}

	// Sensitive: the notice says so, in the asked language, and the
	// request is not public.
	f = rg.pothole()
	f.Set("description", "The road inspector asked me for a bribe to repair the pothole in front of my shop")
	req, _ := http.NewRequest(http.MethodPost, rg.srv.URL+"/open311/v2/requests.json", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	posted = nil
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &posted) != nil {
		t.Fatalf("sensitive: %d %s", resp.StatusCode, b)
	}
	sref := posted[0]["service_request_id"].(string)
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Errorf("a sensitive report's answer points to %s, which is never public", loc)
	}
	if !rg.caseByRef(sref).Sensitive {
		t.Fatalf("a bribe report is not sensitive")
	}
	if notice := posted[0]["service_notice"].(string); !strings.Contains(notice, "sensible") || !strings.Contains(notice, sref) {
		t.Fatalf("sensitive notice %q", notice)
	}
	if code, body, _ := rg.getURL("/open311/v2/requests/" + sref + ".json"); code != http.StatusNotFound {
		t.Fatalf("sensitive request readable: %d %s", code, body)
	}
	if _, body, _ := rg.getURL("/open311/v2/requests.json"); strings.Contains(body, sref) || !strings.Contains(body, ref) {
		t.Fatalf("requests list: %s", body)
	}
}

func (rg *o311Rig) caseByRef(ref string) citybot.Case {
	rg.t.Helper()
	cs, err := rg.db.Inbox(rg.ctx, citybot.CaseFilter{Limit: 1000})
	if err != nil {
		rg.t.Fatal(err)
	}
	for _, c := range cs {
		if string(c.Ref) == ref {
			return c
		}
	}
	rg.t.Fatalf("no case %s", ref)
	return citybot.Case{}
}

// TestOpen311PostRetry posts one report twice with the same
// Idempotency-Key, as a client does when it lost the answer: one case,
// the same service_request_id, 201 then 200; another key is another
// report.
func TestOpen311PostRetry(t *testing.T) {
	rg := newO311Rig(t, 1000, 1000)
	rg.clock.Set(pubWeek.Add(9 * time.Hour))
	post := func(idem string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, rg.srv.URL+"/open311/v2/requests.json", strings.NewReader(rg.pothole().Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var posted []map[string]any
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &posted) != nil || len(posted) != 1 {
			return resp.StatusCode, string(b)
		}
		id, _ := posted[0]["service_request_id"].(string)
		return resp.StatusCode, id
	}
	c1, id1 := post("report-2026-0001")
	c2, id2 := post("report-2026-0001")
	if c1 != http.StatusCreated || c2 != http.StatusOK || id1 == "" || id1 != id2 {
		t.Fatalf("retry: %d %s then %d %s", c1, id1, c2, id2)
	}
	c3, id3 := post("report-2026-0002")
	if c3 != http.StatusCreated || id3 == id1 {
		t.Fatalf("another key: %d %s", c3, id3)
	}
	if c, body := post("bad key with spaces"); c != http.StatusBadRequest {
		t.Fatalf("a bad Idempotency-Key: %d %s", c, body)
	}
	cs, _ := rg.db.Inbox(rg.ctx, citybot.CaseFilter{Limit: 10})
	if len(cs) != 2 {
		t.Fatalf("%d cases, want 2", len(cs))
	}
}

// TestOpen311ServiceDefinitions checks services/{code} against the
// specification's fields and types, in JSON and XML, and the 404s.
func TestOpen311ServiceDefinitions(t *testing.T) {
	rg := newO311Rig(t, 10, 10)
	_, body, _ := rg.getURL("/open311/v2/services.json")
	var services []map[string]any
	if err := json.Unmarshal([]byte(body), &services); err != nil || len(services) == 0 {
		t.Fatalf("services: %v", err)
	}
	for _, s := range services {
		if s["metadata"] != true {
			t.Errorf("service %v has a definition but metadata is not true", s["service_code"])
		}
	}
	code, body, _ := rg.getURL("/open311/v2/services/roads.json?lang=fr")
	if code != http.StatusOK {
		t.Fatalf("definition: %d %s", code, body)
	}
	var def map[string]any
	if err := json.Unmarshal([]byte(body), &def); err != nil {
		t.Fatal(err)
	}
	attrs, ok := def["attributes"].([]any)
	if def["service_code"] != "roads" || !ok || len(attrs) == 0 {
		t.Fatalf("definition %v", def)
	}
	datatypes := map[string]bool{"string": true, "number": true, "datetime": true, "text": true, "singlevaluelist": true, "multivaluelist": true}
	for _, a := range attrs {
		am := a.(map[string]any)
		for f, typ := range map[string]string{"variable": "bool", "code": "string", "datatype": "string", "required": "bool",
			"datatype_description": "string", "order": "number", "description": "string"} {
			v, ok := am[f]
			if !ok {
				t.Errorf("attribute lacks %s", f)
			}
			checkType(t, "attribute", f, typ, v)
		}
		if !datatypes[am["datatype"].(string)] {
			t.Errorf("datatype %v", am["datatype"])
		}
		values, ok := am["values"].([]any)
		if !ok || len(values) == 0 {
			t.Fatalf("a list attribute without values: %v", am)
		}
		for _, v := range values {
			vm := v.(map[string]any)
			if _, ok := vm["key"].(string); !ok {
				t.Errorf("value key %v", vm)
			}
			if _, ok := vm["name"].(string); !ok {
				t.Errorf("value name %v", vm)
			}
		}
		if am["description"] != "Quelqu'un est-il en danger maintenant ?" {
			t.Errorf("description not in French: %v", am["description"])
		}
	}
	code, body, h := rg.getURL("/open311/v2/services/roads.xml")
	if code != http.StatusOK || !strings.Contains(h.Get("Content-Type"), "xml") {
		t.Fatalf("xml definition: %d %s", code, body)
	}
	var x struct {
		XMLName     xml.Name `xml:"service_definition"`
		ServiceCode string   `xml:"service_code"`
		Attributes  []struct {
			Variable bool   `xml:"variable"`
			Code     string `xml:"code"`
			Datatype string `xml:"datatype"`
			Required bool   `xml:"required"`
			Order    int    `xml:"order"`
			Values   []struct {
				Key  string `xml:"key"`
				Name string `xml:"name"`
			} `xml:"values>value"`
		} `xml:"attributes>attribute"`
	}
	if err := xml.Unmarshal([]byte(body), &x); err != nil || x.ServiceCode != "roads" || len(x.Attributes) != 1 ||
		x.Attributes[0].Code != "danger" || len(x.Attributes[0].Values) != 2 || x.Attributes[0].Order != 1 {
		t.Fatalf("xml definition: %v %+v\n%s", err, x, body)
	}
	for _, tc := range []struct {
		path   string
		format string
	}{
		{"/open311/v2/services/dragons.json", "json"}, {"/open311/v2/services/corruption.xml", "xml"},
		{"/open311/v2/services/roads.json?jurisdiction_id=elsewhere", "json"},
		{"/open311/v2/services.xml?jurisdiction_id=elsewhere", "xml"},
		{"/open311/v2/requests.json?jurisdiction_id=elsewhere", "json"},
		{"/open311/v2/requests/ABC.xml?jurisdiction_id=elsewhere", "xml"},
	} {
		code, body, _ := rg.getURL(tc.path)
		if code != http.StatusNotFound {
			t.Errorf("%s: %d %s", tc.path, code, body)
			continue
		}
		wantErrors(t, tc.path, tc.format, body, http.StatusNotFound)
	}
	if code, _, _ := rg.getURL("/open311/v2/services.json?jurisdiction_id=" + rg.jurisdic); code != http.StatusOK {
		t.Errorf("the configured jurisdiction: %d", code)
	}
}

// TestOpen311Discovery checks the service discovery document's fields
// and types, in JSON and XML.
func TestOpen311Discovery(t *testing.T) {
	rg := newO311Rig(t, 10, 10)
	code, body, _ := rg.getURL("/open311/discovery.json")
	if code != http.StatusOK {
		t.Fatalf("discovery: %d %s", code, body)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"changeset", "contact", "key_service"} {
		checkType(t, "discovery", f, "string", d[f])
	}
	if _, err := time.Parse(time.RFC3339, d["changeset"].(string)); err != nil {
		t.Errorf("changeset %v", d["changeset"])
	}
	eps, ok := d["endpoints"].([]any)
	if !ok || len(eps) != 1 {
		t.Fatalf("endpoints %v", d["endpoints"])
	}
	ep := eps[0].(map[string]any)
	for _, f := range []string{"specification", "url", "changeset", "type"} {
		checkType(t, "endpoint", f, "string", ep[f])
	}
	if ep["url"] != rg.srv.URL+"/open311/v2" || ep["type"] != "production" || ep["specification"] != "http://wiki.open311.org/GeoReport_v2" {
		t.Fatalf("endpoint %v", ep)
	}
	// The endpoint it names answers.
	if code, _, _ := rg.getURL(strings.TrimPrefix(ep["url"].(string), rg.srv.URL) + "/services.json"); code != http.StatusOK {
		t.Fatalf("the discovered endpoint: %d", code)
	}
	code, body, _ = rg.getURL("/open311/discovery.xml")
	var x struct {
		XMLName   xml.Name `xml:"discovery"`
		Endpoints []struct {
			URL     string   `xml:"url"`
			Formats []string `xml:"formats>format"`
		} `xml:"endpoints>endpoint"`
	}
	if code != http.StatusOK || xml.Unmarshal([]byte(body), &x) != nil || len(x.Endpoints) != 1 || len(x.Endpoints[0].Formats) != 2 {
		t.Fatalf("xml discovery: %d %s", code, body)
	}
	if code, body, _ := rg.getURL("/open311/other.json"); code != http.StatusNotFound {
		t.Fatalf("unknown document: %d %s", code, body)
	} else {
		wantErrors(t, "unknown document", "json", body, code)
	}
}

// TestOpen311Paging pages GET requests: every case once, in a stable
// order, a Link to the next page on full pages, and errors for bad
// page parameters.
func TestOpen311Paging(t *testing.T) {
	rg := newO311Rig(t, 1000, 1000)
	var refs []string
	for i := 0; i < 5; i++ {
		rg.clock.Set(pubWeek.Add(time.Duration(9+i) * time.Hour))
		f := rg.pothole()
		f.Set("description", "Pothole number "+strconv.Itoa(i)+" on the ring road")
		_, body, _ := rg.postForm("/open311/v2/requests.json", f)
		var posted []map[string]any
		if err := json.Unmarshal([]byte(body), &posted); err != nil || len(posted) != 1 {
			t.Fatalf("post: %s", body)
		}
		refs = append(refs, posted[0]["service_request_id"].(string))
	}
	var got []string
	next := "/open311/v2/requests.json?page_size=2&start_date=2026-11-01T00:00:00Z"
	pages := 0
	for next != "" {
		pages++
		code, body, h := rg.getURL(next)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", next, code, body)
		}
		var reqs []map[string]any
		if err := json.Unmarshal([]byte(body), &reqs); err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			got = append(got, r["service_request_id"].(string))
		}
		next = ""
		if l := h.Get("Link"); l != "" {
			if len(reqs) != 2 || !strings.HasSuffix(l, `>; rel="next"`) {
				t.Fatalf("Link %q on a page of %d", l, len(reqs))
			}
			next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
		}
		if pages > 5 {
			t.Fatalf("paging does not end")
		}
	}
	// Newest first: the reverse of the posting order, each once.
	if len(got) != 5 {
		t.Fatalf("pages gave %v", got)
	}
	for i, r := range got {
		if r != refs[4-i] {
			t.Fatalf("order %v, posted %v", got, refs)
		}
	}
	if _, body, _ := rg.getURL("/open311/v2/requests.json?page=3&page_size=2&start_date=2026-11-01T00:00:00Z"); !strings.Contains(body, refs[0]) || strings.Contains(body, refs[1]) {
		t.Fatalf("page 3: %s", body)
	}
	if _, body, _ := rg.getURL("/open311/v2/requests.json?page=9&page_size=2&start_date=2026-11-01T00:00:00Z"); strings.TrimSpace(body) != "[]" {
		t.Fatalf("a page past the end: %s", body)
	}
	for _, q := range []string{"page=0", "page=x", "page_size=0", "page_size=1001", "page_size=-3"} {
		for _, format := range []string{"json", "xml"} {
			code, body, _ := rg.getURL("/open311/v2/requests." + format + "?" + q)
			if code != http.StatusBadRequest {
				t.Errorf("%s %s: %d", q, format, code)
				continue
			}
			wantErrors(t, q, format, body, http.StatusBadRequest)
		}
	}
}

// TestNoPersonalDataFromOpen311Post posts reports full of personal data
// (contact fields and text), answers and resolves them, drafts, approves
// and posts the week's digest, and searches every public output (Open311,
// the public pages, the CSV, the digest and its posts) and the log for
// the contact fields: they never appear.
func TestNoPersonalDataFromOpen311Post(t *testing.T) {
	rg := newO311Rig(t, 1000, 1000)
	rg.clock.Set(pubWeek.Add(9 * time.Hour))
	contacts := []url.Values{
		{"email": {"lena.petit@example.org"}, "first_name": {"Léna"}, "last_name": {"Petitjean"}, "phone": {"+33 6 55 44 33 22"},
			"device_id": {"device-77aa"}, "account_id": {"acct-9911"}},
		{"email": {"kwame.mensah@mail.example"}, "first_name": {"Kwame"}, "last_name": {"Mensahbonsu"}, "phone": {"0244 987 654"},
			"device_id": {"dev-kw-1"}, "account_id": {"kw-account-3"}},
	}
	var refs []string
	for i, c := range contacts {
		f := rg.pothole()
		for k, v := range c {
			f[k] = v
		}
		f.Set("description", "Streetlight out at the corner, call "+c.Get("first_name")+" "+c.Get("last_name")+" on "+c.Get("phone"))
		rg.clock.Set(pubWeek.Add(time.Duration(9+i) * time.Hour))
		code, body, _ := rg.postForm("/open311/v2/requests.json", f)
		if code != http.StatusCreated {
			t.Fatalf("post: %d %s", code, body)
		}
		var posted []map[string]any
		json.Unmarshal([]byte(body), &posted)
		refs = append(refs, posted[0]["service_request_id"].(string))
	}
	// Officers answer and resolve them; the week's digest is drafted,
	// approved and posted.
	for i, ref := range refs {
		c := rg.caseByRef(ref)
		rg.clock.Set(pubWeek.Add(time.Duration(20+i) * time.Hour))
		if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "The street light was repaired this morning.", "a"+ref); err != nil {
			t.Fatal(err)
		}
		if _, err := rg.off.ChangeStatus(rg.ctx, c.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, "s"+ref); err != nil {
			t.Fatal(err)
		}
	}
	rg.clock.Set(pubWeek.Add(7*24*time.Hour + 8*time.Hour))
	if err := rg.dg.DraftLastWeek(rg.ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := rg.db.Digests(rg.ctx, 1)
	if err != nil || len(ds) != 1 {
		t.Fatalf("draft: %v", err)
	}
	if _, err := rg.dg.Decide(rg.ctx, ds[0].ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	d, _ := rg.db.Digest(rg.ctx, ds[0].ID)
	outputs := map[string]string{"log": rg.logs.String()}
	for l, text := range d.Texts {
		outputs["digest text "+l] = text
	}
	for _, ex := range d.Examples {
		outputs["digest example"] += ex.Said + "\n" + ex.Did + "\n"
	}
	posts, _ := rg.db.OutboxItems(rg.ctx, "digest:")
	for _, p := range posts {
		outputs["outbox "+p.Out.Key] = p.Out.Text
	}
	t.Logf("digest examples: %+v", d.Examples)
	if len(d.Texts) == 0 || len(posts) == 0 {
		t.Fatalf("no digest to search: the test would prove nothing")
	}
	for _, path := range []string{"/open311/v2/services.json", "/open311/v2/services.xml", "/open311/v2/services/roads.json",
		"/open311/v2/requests.json", "/open311/v2/requests.xml", "/open311/v2/requests.json?page=1&page_size=1",
		"/open311/v2/requests/" + refs[0] + ".json", "/open311/v2/requests/" + refs[1] + ".xml",
		"/public/", "/public/?lang=fr", "/public/digests/" + string(d.Week), "/public/cases.csv", "/public/cases.csv?from=2026-11-01"} {
		code, body, _ := rg.getURL(path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		outputs["GET "+path] = body
	}
	if !strings.Contains(outputs["GET /open311/v2/requests.json"], refs[0]) || !strings.Contains(outputs["GET /public/cases.csv"], refs[1]) {
		t.Fatalf("the reports are missing from open data: the test would prove nothing")
	}
	for where, text := range outputs {
		low := strings.ToLower(text)
		for _, c := range contacts {
			for k, vs := range c {
				if strings.Contains(low, strings.ToLower(vs[0])) {
					t.Errorf("%s contains the %s %q", where, k, vs[0])
				}
			}
		}
		if strings.Contains(text, rg.secret) {
			t.Errorf("%s contains the API key", where)
		}
	}
}
