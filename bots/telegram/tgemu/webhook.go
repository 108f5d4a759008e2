package tgemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// deliver pushes pending updates to the webhook, one at a time and in
// order, as Telegram does with max_connections=1. An update is confirmed
// when the webhook answers 2xx; otherwise it is retried with a growing
// delay. It runs until Close.
func (s *Server) deliver() {
	defer s.wg.Done()
	client := &http.Client{Timeout: 10 * time.Second}
	delay := s.retry
	for {
		s.mu.Lock()
		hook := s.hook
		var next *update
		for i := range s.pending {
			if len(hook.allowed) == 0 || slices.Contains(hook.allowed, s.pending[i].Kind) {
				u := s.pending[i]
				next = &u
				break
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if hook.url == "" || next == nil {
			select {
			case <-ch:
				continue
			case <-s.stop:
				return
			}
		}
		err := s.post(client, hook, *next)
		s.mu.Lock()
		if err == nil {
			s.stats.WebhookDeliveries++
			s.confirmLocked(next.ID + 1)
			s.mu.Unlock()
			delay = s.retry
			continue
		}
		s.stats.WebhookFailures++
		if s.hook.gen == hook.gen {
			s.hook.lastErr, s.hook.lastAt = err.Error(), s.now().Unix()
		}
		s.notifyLocked()
		s.mu.Unlock()
		s.log.Debug("webhook delivery failed", "update_id", next.ID, "err", err)
		select {
		case <-time.After(delay):
		case <-s.stop:
			return
		}
		delay = min(delay*2, 2*time.Second)
	}
}

func (s *Server) post(client *http.Client, hook webhook, u update) error {
	body, err := json.Marshal(u)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(s.stopCtx, http.MethodPost, hook.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.secret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return errors.New("connection failed")
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("wrong response from the webhook: %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}
