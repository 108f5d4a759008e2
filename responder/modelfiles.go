package responder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"citybot/classifier"
)

// ModelFiles is where a switched model is kept so that it survives
// restarts: Current is the model serving (absent: the shipped one serves),
// Previous the one it replaced, for a rollback. Every switched model is
// also kept as NAME.model beside Current. The zero value keeps models in
// memory only.
type ModelFiles struct {
	Current  string
	Previous string // "" means Current + ".previous"
}

// ModelDir returns the files of a model directory: dir/current.model and
// dir/previous.model.
func ModelDir(dir string) ModelFiles {
	return ModelFiles{Current: filepath.Join(dir, "current.model"), Previous: filepath.Join(dir, "previous.model")}
}

func (f ModelFiles) previous() string {
	if f.Previous != "" || f.Current == "" {
		return f.Previous
	}
	return f.Current + ".previous"
}

// Load reads the current model. It returns nil and no error when none was
// switched to (no file, or memory only): the shipped model serves. A
// damaged or unreadable file is an error (the caller logs it and serves
// the shipped model).
func (f ModelFiles) Load() (*classifier.Model, error) {
	return load(f.Current)
}

func (f ModelFiles) loadPrevious() (*classifier.Model, error) {
	return load(f.previous())
}

func load(path string) (*classifier.Model, error) {
	if path == "" {
		return nil, nil
	}
	m, err := classifier.ReadModelFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("responder: load model: %w", err)
	}
	return m, nil
}

// save makes m the current model: the current file, when curIsFile says
// one serves, becomes the previous one (otherwise the previous is the
// shipped model: the file is removed), and m is also kept as NAME.model.
func (f ModelFiles) save(m *classifier.Model, curIsFile bool) error {
	if f.Current == "" {
		return nil
	}
	dir := filepath.Dir(f.Current)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("responder: model directory: %w", err)
	}
	if err := m.WriteFile(filepath.Join(dir, m.Name()+".model")); err != nil {
		return err
	}
	return f.install(m, curIsFile)
}

// install makes m the current file and what served before it the
// previous one. m is written in full before anything moves, so that a
// failed write leaves the files as they were.
func (f ModelFiles) install(m *classifier.Model, curIsFile bool) error {
	next := f.Current + ".next"
	if err := m.WriteFile(next); err != nil {
		return err
	}
	if err := f.shiftCurrent(curIsFile); err != nil {
		os.Remove(next)
		return err
	}
	if err := os.Rename(next, f.Current); err != nil {
		return fmt.Errorf("responder: switch model file: %w", err)
	}
	return nil
}

// shiftCurrent makes the current file the previous one, or removes the
// previous one when the shipped model serves.
func (f ModelFiles) shiftCurrent(curIsFile bool) error {
	if curIsFile {
		if err := os.Rename(f.Current, f.previous()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("responder: keep previous model: %w", err)
		}
		return nil
	}
	if err := os.Remove(f.previous()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("responder: keep previous model: %w", err)
	}
	return nil
}

// rollback makes target current (isBase: the shipped model, so no current
// file) and what served before the previous.
func (f ModelFiles) rollback(target *classifier.Model, isBase, curIsFile bool) error {
	if f.Current == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(f.Current), 0o755); err != nil {
		return fmt.Errorf("responder: model directory: %w", err)
	}
	if isBase {
		return f.shiftCurrent(curIsFile)
	}
	return f.install(target, curIsFile)
}
