package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlLine finds the line yaml.v3 names in its messages ("line 3: ...").
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a YAML decoding error into a ValidationError, one
// problem a line, so a file that is not even valid YAML is reported as
// "file:line: what: problem" like every other invalid setup (line 0 when
// the decoder names none).
func yamlError(name string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	ve := &ValidationError{File: name}
	for _, m := range msgs {
		m = strings.TrimSpace(strings.TrimPrefix(m, "yaml: "))
		p := Problem{What: "yaml", Msg: m}
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			p.Line, _ = strconv.Atoi(g[1])
			p.Msg = g[2]
		}
		// A setting's own check (UnmarshalYAML) says what it is about
		// first: `agent "1003": srtp: ...`.
		if what, msg, ok := strings.Cut(p.Msg, ": "); ok && !strings.ContainsAny(what, "`") {
			p.What, p.Msg = what, msg
		}
		ve.Problems = append(ve.Problems, p)
	}
	return ve
}
