package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"citybot/store"
)

// TestServeOpen311Post runs serve and posts a report through Open311
// with a key an admin made: the case is opened through the pipeline
// (counted with the chat platforms' cases), read back, never answered
// through the outbox, and no contact field reaches the log.
func TestServeOpen311Post(t *testing.T) {
	s := startServe(t, nil, "[telegram]\npoll_timeout = \"1s\"\n[open311]\njurisdiction_id = \"testville.example\"\nburst = 2\nper_minute = 1\n")
	ctx := context.Background()
	db, err := store.Open(ctx, s.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, key, err := db.CreateOpen311Key(ctx, "Quartier app", "admin")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.ready.HTTPAddr + "/open311/v2/"
	form := url.Values{"api_key": {key}, "jurisdiction_id": {"testville.example"}, "service_code": {"street_lighting"},
		"address_string": {"Elm Street"}, "description": {"The street light on Elm Street has been out for a week"},
		"email": {"zoe.martin@example.org"}, "first_name": {"Zoé"}, "last_name": {"Martinez"}, "phone": {"+1 555 0199"}}
	post := func(f url.Values) (int, string) {
		t.Helper()
		resp, err := http.PostForm(base+"requests.json", f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(form)
	if code != http.StatusCreated {
		t.Fatalf("post: %d %s\nlogs:\n%s", code, body, s.logs)
	}
	var posted []struct {
		ID string `json:"service_request_id"`
	}
	if err := json.Unmarshal([]byte(body), &posted); err != nil || len(posted) != 1 || posted[0].ID == "" {
		t.Fatalf("answer: %v %s", err, body)
	}
	if code, body := httpGet(t, base+"requests/"+posted[0].ID+".json"); code != http.StatusOK || !strings.Contains(body, `"service_code":"street_lighting"`) {
		t.Fatalf("read back: %d %s", code, body)
	}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("api_key", key+"x")
	if code, body := post(bad); code != http.StatusForbidden || !strings.Contains(body, `"code":403`) {
		t.Fatalf("bad key: %d %s", code, body)
	}
	bad.Set("api_key", key)
	bad.Set("jurisdiction_id", "elsewhere")
	if code, body := post(bad); code != http.StatusNotFound || !strings.Contains(body, `"code":404`) {
		t.Fatalf("other jurisdiction: %d %s", code, body)
	}
	if code, _ := post(form); code != http.StatusCreated {
		t.Fatalf("second post within the burst: %d", code)
	}
	if code, body := post(form); code != http.StatusTooManyRequests || !strings.Contains(body, `"code":429`) {
		t.Fatalf("over the rate: %d %s", code, body)
	}
	code, body = httpGet(t, "http://"+s.ready.HTTPAddr+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `citybot_cases_opened_total{platform="open311"} 2`) {
		t.Errorf("metrics lack the Open311 cases: %d", code)
	}
	if out, err := db.OutboxItems(ctx, ""); err != nil || len(out) != 0 {
		t.Errorf("%d outbox rows for Open311 reports (%v)", len(out), err)
	}
	logs := s.logs.String()
	for _, secret := range []string{"zoe.martin", "Zoé", "Martinez", "555 0199", key} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
	if !strings.Contains(logs, "open311 report registered") {
		t.Errorf("the report is not logged")
	}
}
