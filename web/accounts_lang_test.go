package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"citybot"
)

// TestAccountsInLanguage: the accounts page, its confirmation and its
// note once done, the canned answers, the audit log, the model and the Open311 keys pages speak the admin's language, the count with the
// language's plural form.
func TestAccountsInLanguage(t *testing.T) {
	rg := newRig(t, Options{Policy: testPolicy(t, "en", "ar")})
	root := rg.account("root", citybot.RoleAdmin, "a long enough password")
	if err := rg.db.SetAccountLanguage(context.Background(), root.ID, "ar"); err != nil {
		t.Fatal(err)
	}
	admin := rg.signIn(root)
	rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))

	_, body := rg.do(admin, http.MethodGet, "/admin/accounts", nil)
	for _, want := range []string{"حسابات الموظفين", `<option value="disable">أوقفه</option>`, "العمل على olivia"} {
		if !strings.Contains(body, want) {
			t.Errorf("accounts page lacks %q", want)
		}
	}
	if strings.Contains(body, "Staff accounts") {
		t.Error("accounts page still in English")
	}
	_, body = rg.do(admin, http.MethodPost, "/admin/accounts/action", url.Values{"name": {"olivia"}, "action": {"revoke"}})
	if !strings.Contains(body, "أتُخرج olivia من كل مكان؟") || !strings.Contains(body, "نعم، أخرجه من كل مكان") {
		t.Errorf("confirmation not in Arabic:\n%s", body)
	}
	_, body = rg.do(admin, http.MethodPost, "/admin/accounts/action", url.Values{"name": {"olivia"}, "action": {"revoke"}, "confirm": {"yes"}})
	if !strings.Contains(body, "انتهت جلسة واحدة لـolivia.") {
		t.Errorf("revoke note not in Arabic:\n%s", body)
	}
	// The canned answers, audit log, model and Open311 keys pages too.
	for path, want := range map[string]string{"/admin/canned": "الأجوبة الحالية", "/admin/audit": "ما حدث", "/admin/model": "نموذج التصنيف", "/admin/open311": "لا يملك أي تطبيق مفتاحًا بعد."} {
		if _, body := rg.do(admin, http.MethodGet, path, nil); !strings.Contains(body, want) {
			t.Errorf("%s lacks %q", path, want)
		}
	}
}
