package web

import (
	"context"
	"errors"
	"net/http"

	"citybot"
)

// Open311KeyAdmin is what the Open311 keys page needs from storage. The
// console serves the page when its Store also implements it (store.DB
// does; the admin menu always links it).
type Open311KeyAdmin interface {
	// CreateOpen311Key returns the new key and the key itself, shown
	// once (citybot.ErrInvalid for a bad name, citybot.ErrDuplicate when
	// the name has a working key).
	CreateOpen311Key(ctx context.Context, name, actor string) (citybot.Open311Key, string, error)
	Open311Keys(ctx context.Context) ([]citybot.Open311Key, error)
	// RevokeOpen311Key stops the name's working key (citybot.ErrNotFound
	// when there is none).
	RevokeOpen311Key(ctx context.Context, name, actor string) error
}

// keyAdmin is the store as an Open311KeyAdmin, or nil.
func (s *Server) keyAdmin() Open311KeyAdmin {
	k, _ := s.store.(Open311KeyAdmin)
	return k
}

// open311KeyRoutes are the Open311 keys page's routes, for admins, when
// the store keeps keys.
func (s *Server) open311KeyRoutes(admins []citybot.Role) []route {
	if s.keyAdmin() == nil {
		return nil
	}
	return []route{
		{pattern: "GET /admin/open311", roles: admins, h: s.open311KeysPage},
		{pattern: "POST /admin/open311", roles: admins, h: s.open311KeyCreate},
		{pattern: "POST /admin/open311/revoke", roles: admins, h: s.open311KeyRevoke},
	}
}

type open311KeysData struct {
	Keys []citybot.Open311Key
	// Created and Key: the key just made, shown once.
	Created string
	Key     string
	Revoked string
}

func (s *Server) open311KeysPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.showOpen311Keys(w, r, sess, open311KeysData{})
}

func (s *Server) showOpen311Keys(w http.ResponseWriter, r *http.Request, sess *session, d open311KeysData) {
	keys, err := s.keyAdmin().Open311Keys(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	d.Keys = keys
	// The key is shown once: no cache may keep the page.
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "open311_keys", sess, d)
}

// open311KeyCreate makes a key for a client app and shows it once.
func (s *Server) open311KeyCreate(w http.ResponseWriter, r *http.Request, sess *session) {
	name := clip(r.PostFormValue("name"), 100)
	k, key, err := s.keyAdmin().CreateOpen311Key(r.Context(), name, sess.account.Name)
	if err != nil {
		if errors.Is(err, citybot.ErrDuplicate) {
			err = invalid("console.refuse_key_exists")
		} else if errors.Is(err, citybot.ErrInvalid) {
			err = invalid("console.refuse_app_name")
		}
		s.fail(w, r, sess, err)
		return
	}
	s.log.Info("open311 key created", "client", k.Name, "actor", sess.account.Name)
	s.showOpen311Keys(w, r, sess, open311KeysData{Created: k.Name, Key: key})
}

// open311KeyRevoke stops an app's key at once; the form asks to confirm.
func (s *Server) open311KeyRevoke(w http.ResponseWriter, r *http.Request, sess *session) {
	name := clip(r.PostFormValue("name"), 100)
	if r.PostFormValue("confirm") != "yes" {
		s.fail(w, r, sess, invalid("console.refuse_key_confirm"))
		return
	}
	if err := s.keyAdmin().RevokeOpen311Key(r.Context(), name, sess.account.Name); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.log.Info("open311 key revoked", "client", name, "actor", sess.account.Name)
	s.showOpen311Keys(w, r, sess, open311KeysData{Revoked: name})
}
