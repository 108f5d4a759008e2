package web

import (
	"context"
	"errors"
	"net/http"

	"citybot"
)

// refusal is an action the console refuses for a reason the staff member
// can act on. What they read is a [console] text of the language files
// (key, with its placeholders filled from pairs: name, value, …); Error
// is for the log only. A refusal wraps the error it explains, so
// errors.Is still sees its kind (citybot.ErrInvalid, ErrDuplicate,
// ErrForbidden, ErrNotFound, ErrTooLarge) and the log keeps the details.
type refusal struct {
	key   string
	pairs []string
	err   error
}

func (e *refusal) Error() string {
	return "web: refused (" + e.key + "): " + e.err.Error()
}

func (e *refusal) Unwrap() error { return e.err }

// invalid refuses an input the console itself checked: key is the
// [console] text that says why and what to do.
func invalid(key string, pairs ...string) error {
	return &refusal{key: key, pairs: pairs, err: citybot.ErrInvalid}
}

// refusedAs explains err, when it wraps one of kinds, with the [console]
// text key: the caller knows from the callee's documented contract what
// that kind means there (SetAccountDisabled's ErrInvalid is the last
// admin). Other errors (nil included) are returned as they are.
func refusedAs(err error, key string, kinds ...error) error {
	if err == nil {
		return nil
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			return &refusal{key: key, err: err}
		}
	}
	return err
}

// fail answers a request whose action failed: a safe message in the
// page's language for the staff member, the details to the log. A
// refusal says its own text; other errors are said by their kind; a
// raw error text never reaches the page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	if errors.Is(err, context.Canceled) {
		return // the browser left
	}
	status, kind, key := failure(err)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
	} else {
		s.log.Info("refused", "path", r.URL.Path, "status", status, "err", err)
	}
	e := s.errorPage(r, sess, kind, key)
	if ref := (*refusal)(nil); errors.As(err, &ref) {
		e.Message = s.texts(r, sess).t(ref.key, ref.pairs...)
	}
	s.render(w, r, status, "error", sess, e)
}

// failure says how the console answers err: its HTTP status, the error
// page's kind (console.err_<kind>_title) and its general text.
func failure(err error) (status int, kind, key string) {
	switch {
	case errors.Is(err, citybot.ErrNotFound):
		return http.StatusNotFound, "not_found", "console.err_not_found"
	case errors.Is(err, citybot.ErrForbidden):
		return http.StatusForbidden, "forbidden", "console.err_forbidden"
	case errors.Is(err, citybot.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "invalid", "console.err_too_large"
	case errors.Is(err, citybot.ErrDuplicate):
		return http.StatusBadRequest, "invalid", "console.err_duplicate"
	case errors.Is(err, citybot.ErrInvalid):
		return http.StatusBadRequest, "invalid", "console.err_invalid"
	}
	return http.StatusInternalServerError, "failed", "console.err_failed"
}
