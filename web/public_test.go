package web

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/accountability"
	"citybot/casework"
	"citybot/classifier"
	"citybot/internal/storetest"
	"citybot/locale"
	"citybot/responder"
	"citybot/store"
)

var (
	_ PublicStore   = (*store.DB)(nil)
	_ PublicFigures = (*accountability.Digester)(nil)
	_ PublicCharts  = (*accountability.Digester)(nil)
	_ ApprovalStore = (*store.DB)(nil)
	_ Digester      = (*accountability.Digester)(nil)
)

type pubClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *pubClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *pubClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// pubRig is the whole public side on a real store: the pipeline with the
// real classifier, an officer, the digester, the console with the
// approval pages and the public pages, on one injected clock.
type pubRig struct {
	t     *testing.T
	ctx   context.Context
	clock *pubClock
	db    *store.DB
	resp  *responder.Responder
	off   *casework.Officer
	dg    *accountability.Digester
	srv   *Server
	ts    *httptest.Server
	n     int
}

// Monday 16 November 2026: ISO week 2026-W47.
var pubWeek = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)

// newPubRig builds the rig; langs, when given, are the digest's and the
// public pages' languages (en and fr otherwise).
func newPubRig(t *testing.T, langs ...string) *pubRig {
	t.Helper()
	ctx := context.Background()
	clock := &pubClock{t: pubWeek.Add(8 * time.Hour)}
	db := storetest.SQLite(t, store.Options{Now: clock.Now})
	cls, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := responder.New(responder.Options{Policy: testPolicy(t, langs...), Store: db, Classifier: cls, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	off, err := casework.NewOfficer(casework.OfficerOptions{Policy: testPolicy(t, langs...), Store: db})
	if err != nil {
		t.Fatal(err)
	}
	dg, err := accountability.NewDigester(accountability.DigestOptions{
		Policy: testPolicy(t, langs...), Store: db, Now: clock.Now, Classifier: cls, Examples: 10,
		Channels:  []accountability.Channel{{Platform: citybot.Telegram, Chat: "-100500"}, {Platform: citybot.Discord, Chat: "900"}},
		Officials: accountability.Channel{Platform: citybot.Telegram, Chat: "-100777"},
		Approvers: map[citybot.UserID]string{"4242": "mayor"},
		Languages: langs,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Policy: testPolicy(t, langs...), Store: db, Officer: off, Now: clock.Now, InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublic(PublicOptions{Policy: testPolicy(t, langs...), Store: db, Figures: dg, Now: clock.Now, Agency: "City of Testville"})
	if err != nil {
		t.Fatal(err)
	}
	approval, err := srv.ApprovalHandler(db, dg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.Handle("/digests", approval)
	mux.Handle("/digests/", approval)
	pub.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &pubRig{t: t, ctx: ctx, clock: clock, db: db, resp: resp, off: off, dg: dg, srv: srv, ts: ts}
}

func (rg *pubRig) say(at time.Time, platform citybot.Platform, user, name, handle, text string) citybot.Case {
	rg.t.Helper()
	rg.clock.Set(at)
	rg.n++
	m := citybot.Message{Platform: platform, Chat: citybot.ChatID(user), ChatKind: citybot.ChatPrivate,
		ID: citybot.PlatformMessageID(fmt.Sprint(rg.n)), Sender: citybot.Sender{ID: citybot.UserID(user), Name: name, Handle: handle},
		Text: text, SentAt: at, Location: &citybot.Location{Latitude: 48.8566123 + float64(rg.n)/1e5, Longitude: 2.3522456}}
	if err := rg.resp.HandleMessage(rg.ctx, m); err != nil {
		rg.t.Fatal(err)
	}
	// The newest case (without touching the citizen's identity).
	cs, err := rg.db.Inbox(rg.ctx, citybot.CaseFilter{Limit: 1000})
	if err != nil || len(cs) == 0 {
		rg.t.Fatalf("no case: %v", err)
	}
	newest := cs[0]
	for _, c := range cs {
		if c.ID > newest.ID {
			newest = c
		}
	}
	return newest
}

// pubClient never follows redirects.
func pubClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (rg *pubRig) get(path string, cookie *http.Cookie) (int, string, http.Header) {
	rg.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rg.ts.URL+path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := pubClient().Do(req)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (rg *pubRig) post(path string, cookie *http.Cookie, form url.Values) (int, string) {
	rg.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, rg.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(cookie)
	resp, err := pubClient().Do(req)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// staff creates an account and a session; it returns the cookie and the
// form token.
func (rg *pubRig) staff(name string, role citybot.Role) (*http.Cookie, string) {
	rg.t.Helper()
	h, _ := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	a, err := rg.db.CreateAccount(rg.ctx, name, role, string(h), "test")
	if err != nil {
		rg.t.Fatal(err)
	}
	if role.RequiresTOTP() {
		if err := rg.db.StartTOTP(rg.ctx, a.ID, testTOTPSecret); err != nil {
			rg.t.Fatal(err)
		}
		if err := rg.db.ActivateTOTP(rg.ctx, a.ID, testTOTPSecret, 0, nil); err != nil {
			rg.t.Fatal(err)
		}
	}
	tok, csrf := randomToken(), randomToken()
	if err := rg.db.CreateSession(rg.ctx, a.ID, hashToken(tok), csrf, time.Now().Add(time.Hour)); err != nil {
		rg.t.Fatal(err)
	}
	return &http.Cookie{Name: rg.srv.cookieName(), Value: tok}, csrf
}

// citizen is one person writing with personal data in their messages.
type citizen struct {
	platform     citybot.Platform
	user         string
	name, handle string
	text         string
	answer       string // the officer's answer, with personal data too
}

// privateData are strings that must never reach public output.
func privateData() []string {
	return []string{
		"Marie", "Curie", "mcurie42", "+33 6 12 34 56 78", "12 34 56 78", "marie.curie@example.org", "example.org",
		"12 rue des Lilas", "Sherlock", "Holmes", "sholmes", "07700 900123", "900123", "221B", "Baker Street 221",
		"AB-123-CD", "Valjean", "jvaljean", "jean.valjean@mail.fr", "Javert", "bribe", "pot-de-vin", "Zola", "ezola",
		"06 98 76 54 32", "98 76 54", "8 avenue Foch", "Smith", "GH-456-JK", "Dupont", "dupont.r@gmail.com",
		"700101", "700102", "700103", "700104", "700105", "700106",
		"48.8566", "2.35224",
	}
}

func weekOfPersonalData() []citizen {
	return []citizen{
		{citybot.Telegram, "700101", "Marie Curie", "mcurie42",
			"Hello, I am Marie Curie. There is a huge pothole in front of 12 rue des Lilas, call me at +33 6 12 34 56 78 or write to marie.curie@example.org",
			"Dear Marie Curie, our road team filled the pothole in front of 12 rue des Lilas on Tuesday. Call +33 6 12 34 56 78 if it comes back."},
		{citybot.Discord, "700102", "Sherlock Holmes", "sholmes",
			"Water leak under the pavement at 221B Baker Street, it floods the road. My phone is 07700 900123. Sherlock Holmes",
			"Mr Holmes, the water service repaired the leaking pipe under the pavement at 221B Baker Street."},
		{citybot.Telegram, "700103", "Jean Valjean", "jvaljean",
			"Rubbish bins not collected for two weeks, the truck AB-123-CD blocks the street every morning. Jean Valjean, jean.valjean@mail.fr",
			"Thank you Jean Valjean, the rubbish was collected and the driver of AB-123-CD was told to park elsewhere."},
		{citybot.Telegram, "700104", "Anonymous", "",
			"Corruption: the inspector Javert asked me for a bribe (pot-de-vin) to sign my permit.",
			"Javert was suspended; thank you for the report about the bribe."},
		{citybot.Telegram, "700105", "Émile Zola", "ezola",
			"Bonjour, je m'appelle Émile Zola, le lampadaire devant le 8 avenue Foch est cassé depuis une semaine. Mon numéro : 06 98 76 54 32",
			"Bonjour Émile Zola, le lampadaire du 8 avenue Foch a été réparé. Appelez le 06 98 76 54 32 si besoin."},
		{citybot.Discord, "700106", "Rose Dupont", "rdupont",
			"My neighbour Mr Smith parks his van GH-456-JK on the cycle lane every day, please do something. Rose Dupont dupont.r@gmail.com",
			"The municipal police fined the van GH-456-JK parked on the cycle lane, Mrs Dupont."},
	}
}

// TestNoPersonalDataInPublicOutput feeds messages full of personal data
// through a whole week (the real pipeline and classifier, officers'
// answers quoting it, resolution, the digest drafted and approved) and
// searches every public output for it: the digest's texts in every
// language and its posts, the public pages, Open311 JSON and XML, and the
// CSV export.
func TestNoPersonalDataInPublicOutput(t *testing.T) {
	rg := newPubRig(t)
	var cases []citybot.Case
	for i, c := range weekOfPersonalData() {
		at := pubWeek.Add(time.Duration(9+i*7) * time.Hour)
		cs := rg.say(at, c.platform, c.user, c.name, c.handle, c.text)
		cases = append(cases, cs)
		rg.clock.Set(at.Add(2 * time.Hour))
		if _, err := rg.off.Answer(rg.ctx, cs.ID, "olivia", c.answer, fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
		rg.clock.Set(at.Add(30 * time.Hour))
		if _, err := rg.off.ChangeStatus(rg.ctx, cs.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, fmt.Sprintf("s%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Enough reports from one street for the equity figures to show it
	// as a district, each with a name, a house number and a phone
	// number, two still without an answer.
	for i, name := range []string{"Marie Curie", "Sherlock Holmes", "Jean Valjean", "Émile Zola", "Rose Dupont"} {
		at := pubWeek.Add(time.Duration(50+i*3) * time.Hour)
		cs := rg.say(at, citybot.Telegram, fmt.Sprint(700110+i), name, "", fmt.Sprintf(
			"Hello, I am %s, the street light in front of %d rue de la Paix is broken, call 06 98 76 54 32.", name, 10+i))
		if i < 3 {
			rg.clock.Set(at.Add(time.Duration(i+1) * time.Hour))
			if _, err := rg.off.Answer(rg.ctx, cs.ID, "olivia", "Dear "+name+", the lamp team is coming.", fmt.Sprintf("eq%d", i)); err != nil {
				t.Fatal(err)
			}
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
	if len(ds[0].Examples) == 0 {
		t.Fatalf("no example survived redaction: the test would prove nothing")
	}
	if len(ds[0].Figures.Equity.ByPlace) == 0 || len(ds[0].Figures.Equity.ByLanguage) == 0 {
		t.Fatalf("no equity group: the test would prove nothing (%+v)", ds[0].Figures.Equity)
	}
	// The official publishes the equity figures with the digest.
	if _, err := rg.dg.Decide(rg.ctx, ds[0].ID, citybot.DigestDecision{Approve: true, Actor: "mayor", PublishEquity: true}); err != nil {
		t.Fatal(err)
	}
	d, _ := rg.db.Digest(rg.ctx, ds[0].ID)

	outputs := map[string]string{}
	for l, text := range d.Texts {
		outputs["digest text "+l] = text
		outputs["chart alt "+l] = rg.dg.ChartAlt(d, l)
	}
	eq, err := json.Marshal(d.Figures.Equity)
	if err != nil {
		t.Fatal(err)
	}
	outputs["equity figures"] = string(eq)
	for _, ex := range d.Examples {
		outputs["example"] += ex.Said + "\n" + ex.Did + "\n"
	}
	posts, _ := rg.db.OutboxItems(rg.ctx, "digest:")
	for _, p := range posts {
		outputs["outbox "+p.Out.Key] = p.Out.Text
	}
	for _, path := range []string{"/public/", "/public/?lang=fr", "/public/digests/" + string(d.Week), "/public/digests/" + string(d.Week) + "?lang=fr",
		"/open311/v2/services.json", "/open311/v2/services.xml", "/open311/v2/requests.json", "/open311/v2/requests.xml",
		"/open311/v2/requests.json?status=closed&start_date=2026-11-01T00:00:00Z", "/open311/v2/requests/" + string(cases[0].Ref) + ".json",
		"/open311/v2/requests/" + string(cases[1].Ref) + ".xml", "/public/cases.csv", "/public/cases.csv?from=2026-11-01"} {
		code, body, _ := rg.get(path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		outputs["GET "+path] = body
	}
	// The outputs are not empty: the cases are there, by reference.
	if !strings.Contains(outputs["GET /open311/v2/requests.json"], string(cases[0].Ref)) ||
		!strings.Contains(outputs["GET /public/cases.csv"], string(cases[2].Ref)) {
		t.Fatalf("cases missing from open data")
	}
	// The equity figures are published, the street named without its
	// house numbers.
	for _, page := range []string{"GET /public/", "GET /public/digests/" + string(d.Week)} {
		if !strings.Contains(outputs[page], `id="h-equity"`) || !strings.Contains(outputs[page], "rue de la Paix") {
			t.Errorf("%s: no equity figures for rue de la Paix", page)
		}
	}
	for _, id := range []string{"700110", "700111", "700112", "700113", "700114", "10 rue de la Paix", "14 rue de la Paix"} {
		for where, text := range outputs {
			if strings.Contains(text, id) {
				t.Errorf("%s contains %q", where, id)
			}
		}
	}
	// The sensitive case is nowhere case by case.
	if strings.Contains(outputs["GET /open311/v2/requests.json"], string(cases[3].Ref)) || strings.Contains(outputs["GET /public/cases.csv"], string(cases[3].Ref)) {
		t.Fatalf("the corruption case is listed publicly")
	}
	for where, text := range outputs {
		low := strings.ToLower(text)
		for _, secret := range privateData() {
			if strings.Contains(low, strings.ToLower(secret)) {
				i := strings.Index(low, strings.ToLower(secret))
				t.Errorf("%s contains %q: …%s…", where, secret, text[max(0, i-60):min(len(text), i+60)])
			}
		}
	}
	t.Logf("example after redaction: %+v", d.Examples)
}

// Open311 GeoReport v2 field lists.
func open311ServiceFields() map[string]string {
	return map[string]string{"service_code": "string", "service_name": "string", "description": "string", "metadata": "bool",
		"type": "string", "keywords": "string", "group": "string"}
}

func open311RequestFields() map[string]string {
	return map[string]string{"service_request_id": "string", "status": "string", "status_notes": "string", "service_name": "string",
		"service_code": "string", "description": "string", "agency_responsible": "string", "service_notice": "string",
		"requested_datetime": "datetime", "updated_datetime": "datetime", "expected_datetime": "datetime?", "address": "string",
		"address_id": "string", "zipcode": "string", "lat": "number?", "long": "number?", "media_url": "string"}
}

func checkType(t *testing.T, where, field, want string, v any) {
	t.Helper()
	optional := strings.HasSuffix(want, "?")
	want = strings.TrimSuffix(want, "?")
	if v == nil {
		if !optional {
			t.Errorf("%s: %s is null", where, field)
		}
		return
	}
	ok := false
	switch want {
	case "string":
		_, ok = v.(string)
	case "bool":
		_, ok = v.(bool)
	case "number":
		_, ok = v.(float64)
	case "datetime":
		s, isStr := v.(string)
		_, err := time.Parse(time.RFC3339, s)
		ok = isStr && err == nil
	}
	if !ok {
		t.Errorf("%s: %s = %#v, want %s", where, field, v, want)
	}
}

func TestOpen311FieldsAndTypes(t *testing.T) {
	rg := newPubRig(t)
	c1 := rg.say(pubWeek.Add(9*time.Hour), citybot.Telegram, "1", "A", "", "pothole on rue de Rivoli near the Louvre")
	rg.say(pubWeek.Add(10*time.Hour), citybot.Discord, "2", "B", "", "no water since this morning in the building")
	by := pubWeek.Add(72 * time.Hour)
	if err := rg.db.SetExpectedBy(rg.ctx, c1.ID, &by, "olivia"); err != nil {
		t.Fatal(err)
	}
	rg.clock.Set(pubWeek.Add(24 * time.Hour))

	_, body, h := rg.get("/open311/v2/services.json", nil)
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("services content type %q", h.Get("Content-Type"))
	}
	var services []map[string]any
	if err := json.Unmarshal([]byte(body), &services); err != nil || len(services) == 0 {
		t.Fatalf("services: %v %s", err, body)
	}
	for _, s := range services {
		for f, typ := range open311ServiceFields() {
			v, ok := s[f]
			if !ok {
				t.Errorf("service lacks %s", f)
			}
			checkType(t, "service", f, typ, v)
		}
		if s["service_code"] == "corruption" {
			t.Errorf("a sensitive topic is offered as a service")
		}
		if ty := s["type"]; ty != "realtime" && ty != "batch" && ty != "blackbox" {
			t.Errorf("service type %v", ty)
		}
	}
	_, body, _ = rg.get("/open311/v2/requests.json", nil)
	var reqs []map[string]any
	if err := json.Unmarshal([]byte(body), &reqs); err != nil || len(reqs) != 2 {
		t.Fatalf("requests: %v %s", err, body)
	}
	for _, r := range reqs {
		for f, typ := range open311RequestFields() {
			v, ok := r[f]
			if !ok {
				t.Errorf("request lacks %s", f)
			}
			checkType(t, "request", f, typ, v)
		}
		if s := r["status"]; s != "open" && s != "closed" {
			t.Errorf("status %v", s)
		}
	}
	var withDate map[string]any
	for _, r := range reqs {
		if r["service_request_id"] == string(c1.Ref) {
			withDate = r
		}
	}
	if withDate == nil || withDate["expected_datetime"] == nil || withDate["lat"] == nil {
		t.Fatalf("request %s lacks its expected datetime or location: %v", c1.Ref, withDate)
	}
	// XML carries the same fields as elements.
	for _, path := range []string{"/open311/v2/services.xml", "/open311/v2/requests.xml", "/open311/v2/requests/" + string(c1.Ref) + ".xml"} {
		_, body, h := rg.get(path, nil)
		if !strings.Contains(h.Get("Content-Type"), "xml") {
			t.Errorf("%s content type %q", path, h.Get("Content-Type"))
		}
		var doc struct {
			XMLName xml.Name
			Items   []struct {
				XMLName xml.Name
				Fields  []struct {
					XMLName xml.Name
					Value   string `xml:",chardata"`
				} `xml:",any"`
			} `xml:",any"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil || len(doc.Items) == 0 {
			t.Fatalf("%s: %v\n%s", path, err, body)
		}
		want := open311RequestFields()
		if doc.XMLName.Local == "services" {
			want = open311ServiceFields()
		} else if doc.XMLName.Local != "service_requests" {
			t.Fatalf("%s: root %s", path, doc.XMLName.Local)
		}
		for _, it := range doc.Items {
			got := map[string]string{}
			for _, f := range it.Fields {
				got[f.XMLName.Local] = f.Value
			}
			for f := range want {
				if _, ok := got[f]; !ok {
					t.Errorf("%s: <%s> lacks <%s>", path, it.XMLName.Local, f)
				}
			}
		}
	}
	// One request by id; unknown ids are 404 in the same format.
	code, body, _ := rg.get("/open311/v2/requests/"+string(c1.Ref)+".json", nil)
	if code != 200 || !strings.Contains(body, string(c1.Ref)) {
		t.Fatalf("request by id: %d %s", code, body)
	}
	if code, _, _ := rg.get("/open311/v2/requests/NOPE42.json", nil); code != 404 {
		t.Fatalf("unknown id: %d", code)
	}
	// Status notes in the city's default language (English here), or the
	// one asked for, from the language files.
	notes := map[string]string{}
	for _, lang := range []string{"", "fr"} {
		_, body, _ := rg.get("/open311/v2/requests/"+string(c1.Ref)+".json?lang="+lang, nil)
		var one []struct {
			Status      string `json:"status"`
			StatusNotes string `json:"status_notes"`
		}
		if err := json.Unmarshal([]byte(body), &one); err != nil || len(one) != 1 {
			t.Fatalf("request by id (lang %q): %v %s", lang, err, body)
		}
		notes[lang] = one[0].StatusNotes
	}
	c1now, err := rg.db.Case(context.Background(), c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	for lang, cat := range map[string]string{"": "en", "fr": "fr"} {
		word := locale.MustEmbedded().Catalog(cat).Table("chat.statuses")[string(c1now.Status)]
		if word == "" || !strings.EqualFold(notes[lang], word) {
			t.Errorf("status notes (lang %q) %q, want %q (status %s)", lang, notes[lang], word, c1now.Status)
		}
	}
	if code, _, _ := rg.get("/open311/v2/requests.json?start_date=yesterday", nil); code != 400 {
		t.Fatalf("bad date: %d", code)
	}
	if code, _, _ := rg.get("/open311/v2/requests.json?status=open&service_code=roads", nil); code != 200 {
		t.Fatalf("filters: %d", code)
	}
}

func TestApprovalPages(t *testing.T) {
	rg := newPubRig(t)
	rg.say(pubWeek.Add(9*time.Hour), citybot.Telegram, "1", "A", "", "pothole on rue de Rivoli, dangerous for bikes <script>alert(1)</script>")
	rg.clock.Set(pubWeek.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Draft(rg.ctx, pubWeek, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	official, ocsrf := rg.staff("mayor", citybot.RoleOfficial)
	officer, fcsrf := rg.staff("olivia", citybot.RoleOfficer)
	page := fmt.Sprintf("/digests/%d", d.ID)
	code, body, _ := rg.get(page, official)
	if code != 200 || !strings.Contains(body, "Approve and post") || !strings.Contains(body, "telegram, English") || !strings.Contains(body, "discord, Français") {
		t.Fatalf("official's page: %d\n%s", code, body)
	}
	if code, body, _ := rg.get(page, officer); code != 200 || strings.Contains(body, "Approve and post") {
		t.Fatalf("officer's page: %d", code)
	}
	if code, _, _ := rg.get(page, nil); code != http.StatusSeeOther {
		t.Fatalf("signed out: %d", code)
	}
	if code, _, _ := rg.get(page+"/chart.png", official); code != 200 {
		t.Fatalf("chart: %d", code)
	}
	// An officer may not decide; a missing form token is refused.
	if code, _ := rg.post(page+"/decide", officer, url.Values{"csrf": {fcsrf}, "decision": {"approve"}}); code != http.StatusForbidden {
		t.Fatalf("officer decided: %d", code)
	}
	if code, _ := rg.post(page+"/decide", official, url.Values{"decision": {"approve"}}); code != http.StatusForbidden {
		t.Fatalf("no form token: %d", code)
	}
	if posts, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:telegram"); len(posts) != 0 {
		t.Fatalf("posted without approval")
	}
	code, _ = rg.post(page+"/decide", official, url.Values{"csrf": {ocsrf}, "decision": {"approve"}})
	if code != http.StatusSeeOther {
		t.Fatalf("approve: %d", code)
	}
	code, _ = rg.post(page+"/decide", official, url.Values{"csrf": {ocsrf}, "decision": {"approve"}})
	if code != http.StatusBadRequest {
		t.Fatalf("second approval: %d", code)
	}
	posts, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:")
	if len(posts) != 5 { // telegram: chart, en, fr; discord: chart... see below
		t.Logf("posts: %d", len(posts))
	}
	keys := map[string]bool{}
	for _, p := range posts {
		if keys[p.Out.Key] {
			t.Fatalf("duplicate key %s", p.Out.Key)
		}
		keys[p.Out.Key] = true
	}
	for _, k := range []string{"digest:2026-W47:telegram:-100500:en#1", "digest:2026-W47:discord:900:fr#1", "digest:2026-W47:discord:900:en:chart"} {
		if !keys[k] {
			t.Errorf("missing post %s in %v", k, keys)
		}
	}
	// The audit log names the official.
	audit, _ := rg.db.Audit(rg.ctx, fmt.Sprintf("digest:%d", d.ID))
	if len(audit) < 2 || audit[len(audit)-1].Actor != "mayor" || audit[len(audit)-1].Action != "digest.approve" {
		t.Fatalf("audit %+v", audit)
	}
	// The public page shows it, escaped.
	_, body, _ = rg.get("/public/", nil)
	if !strings.Contains(body, "2026-W47") || regexp.MustCompile(`<script>alert`).MatchString(body) {
		t.Fatalf("public page:\n%s", body)
	}
	if code, _, h := rg.get("/public/digests/2026-W47/chart.png", nil); code != 200 || h.Get("Content-Type") != "image/png" {
		t.Fatalf("public chart: %d", code)
	}
	if code, _, _ := rg.get("/public/digests/2020-W01", nil); code != 404 {
		t.Fatalf("unknown week: %d", code)
	}
	if code, _, _ := rg.get("/digests", official); code != 200 {
		t.Fatalf("list: %d", code)
	}
}

func TestCSVExport(t *testing.T) {
	rg := newPubRig(t)
	rg.say(pubWeek.Add(9*time.Hour), citybot.Telegram, "1", "A", "", "=HYPERLINK(\"http://evil\") pothole on rue de Rivoli")
	rg.clock.Set(pubWeek.Add(24 * time.Hour))
	code, body, h := rg.get("/public/cases.csv", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", code, h.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "reference,topic,status,") {
		t.Fatalf("csv:\n%s", body)
	}
	if strings.Contains(body, "HYPERLINK") || strings.Contains(body, "evil") {
		t.Fatalf("citizen text in the CSV:\n%s", body)
	}
	if code, _, _ := rg.get("/public/cases.csv?from=notadate", nil); code != 400 {
		t.Fatalf("bad from: %d", code)
	}
}
