package main

import (
	"errors"
	"fmt"
	"io/fs"

	"citybot"
	"citybot/classifier"
)

// checkModelFiles reads the model files the configuration names, as
// serve will, and returns a problem for each one that is missing,
// unreadable or not a model: [classifier] model (serve cannot start
// without it) and a model retraining switched to (serve would fall back
// to the shipped model). A switched model that does not exist yet is no
// problem. For "citybot config check".
func checkModelFiles(c Config) []error {
	var problems []error
	if p := c.Classifier.Model; p != "" {
		if err := readModel(p); err != nil {
			problems = append(problems, fmt.Errorf("classifier.model: %s", modelProblem(p, err,
				"write one with `citybot train`, or set model = \"\" for the model shipped in citybot")))
		}
	}
	current := c.ModelFiles().Current
	key := "retrain.dir"
	if c.Web.RetrainModel != "" {
		key = "web.retrain_model"
	}
	if err := readModel(current); err != nil && !errors.Is(err, fs.ErrNotExist) {
		problems = append(problems, fmt.Errorf("%s: %s", key, modelProblem(current, err,
			"serve would use the shipped model instead; switch to a good model again from the console's model page, or remove the file")))
	}
	return problems
}

// readModel reads and decodes the model file at path.
func readModel(path string) error {
	_, err := classifier.ReadModelFile(path)
	return err
}

// modelProblem words why the model file at path cannot be used, and what
// to do.
func modelProblem(path string, err error, todo string) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("the model file %q does not exist: %s", path, todo)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("the model file %q cannot be read (permission denied): let citybot's user read it, or %s", path, todo)
	case errors.Is(err, citybot.ErrInvalid):
		return fmt.Sprintf("the model file %q is not a model citybot can read (%v): %s", path, err, todo)
	}
	return fmt.Sprintf("the model file %q cannot be read (%v): %s", path, err, todo)
}

// withModelProblems adds checkModelFiles' problems to LoadConfig's
// result: a *ConfigError gets them appended, a nil error becomes one
// when there are any. A file that could not be read or parsed at all is
// returned as it is (its model keys are unknown).
func withModelProblems(cfg Config, err error) error {
	var ce *ConfigError
	if err != nil && (!errors.As(err, &ce) || cfg.Source == "" && ce.Path != "") {
		return err
	}
	problems := checkModelFiles(cfg)
	if len(problems) == 0 {
		return err
	}
	if ce == nil {
		return &ConfigError{Path: cfg.Source, Problems: problems}
	}
	ce.Problems = append(ce.Problems, problems...)
	return ce
}
