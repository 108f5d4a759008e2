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

// dismissSigninNotice clears the notice of wrong passwords and codes
// typed for the signed-in account: its owner has read it.
func (s *Server) dismissSigninNotice(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.store.DismissSigninNotice(r.Context(), sess.account.ID); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("back")), http.StatusSeeOther)
}
