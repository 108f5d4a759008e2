package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"citybot"
)

// fakeKeys knows one key, "good".
type fakeKeys struct{}

func (fakeKeys) Open311KeyByHash(_ context.Context, hash string) (citybot.Open311Key, error) {
	if hash == citybot.HashAPIKey("good") {
		return citybot.Open311Key{ID: 1, Name: "app"}, nil
	}
	return citybot.Open311Key{}, citybot.ErrNotFound
}

// TakeRateToken never limits: the fuzz test is about parsing.
func (fakeKeys) TakeRateToken(context.Context, string, int, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}

// fakeSubmitter refuses, as the pipeline would not, a report that breaks
// the intake's rules: the fuzz target then sees a status it does not
// expect.
type fakeSubmitter struct{}

func (fakeSubmitter) SubmitReport(_ context.Context, r citybot.Report) (citybot.ReportReceipt, error) {
	if r.ServiceCode == "" || (r.Location == nil && r.Address == "") || r.Client != "app" {
		return citybot.ReportReceipt{}, errors.New("a report that breaks the rules was passed on")
	}
	return citybot.ReportReceipt{Ref: "ABC123"}, nil
}

// FuzzOpen311Post posts any body to POST requests: every answer is a
// status the specification knows with a body in its format, never a
// crash, and only reports that follow the rules reach the pipeline.
func FuzzOpen311Post(f *testing.F) {
	for _, seed := range []string{
		"api_key=good&service_code=roads&lat=1&long=2",
		"api_key=good&service_code=roads&address_string=Main+Street&attribute[danger]=yes",
		"api_key=good&service_code=roads&lat=NaN&long=2",
		"api_key=good&service_code=roads&lat=1e999&long=-1e999",
		"api_key=good&service_code=roads&address_id=%ff%fe&description=%00%ff",
		"api_key=bad&service_code=roads&lat=1&long=2",
		"api_key=good&service_code=roads&lat=1&long=2&attribute[danger][]=yes&attribute[danger][]=maybe",
		"api_key=good&service_code=roads&lat=1&long=2&email=%3Cx%40y%3E&media_url=http:%2F%2F",
		"%%%&&&==",
	} {
		f.Add(seed)
	}
	// The clock stands still and the allowance is large: the rate never
	// refuses.
	in, err := NewOpen311Intake(Open311IntakeOptions{Policy: testPolicy(f), Submitter: fakeSubmitter{}, Keys: fakeKeys{}, PerMinute: 6000, Burst: 1 << 30,
		Now: func() time.Time { return time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/open311/v2/requests.json", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetPathValue("file", "requests.json")
		w := httptest.NewRecorder()
		in.post(w, req)
		switch w.Code {
		case http.StatusCreated:
			if !strings.Contains(w.Body.String(), `"service_request_id":"ABC123"`) {
				t.Fatalf("201 without the id: %s", w.Body)
			}
		case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge:
			if !strings.HasPrefix(w.Body.String(), `[{"code":`) {
				t.Fatalf("%d without the error list: %s", w.Code, w.Body)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
