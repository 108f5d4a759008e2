package web

import (
	"net/http"
	"slices"
)

// setLanguage keeps the console language the account chose in the
// header's picker ("" follows the browser again) and returns to the page
// it was chosen on.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request, sess *session) {
	lang := r.PostFormValue("lang")
	if lang != "" && !slices.Contains(s.languages, lang) {
		s.fail(w, r, sess, invalid("console.refuse_language"))
		return
	}
	if err := s.store.SetAccountLanguage(r.Context(), sess.account.ID, lang); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("back")), http.StatusSeeOther)
}
