package config

import (
	"errors"
	"testing"
)

func TestNotYAMLIsReportedWithItsLine(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"syntax", "server:\n  sip_listen: [\n", "setup.yaml:2: yaml: did not find expected node content"},
		{"mapping", "server:\n  sip_listen: a\n    realm: b\n", "setup.yaml:3: yaml: mapping values are not allowed in this context"},
		{"unknown field", "server:\n  sip_lisen: a\n", "setup.yaml:2: yaml: field sip_lisen not found in type config.Server"},
		{"no line", "\tserver: 1\n", "setup.yaml:0: yaml: found character that cannot start any token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("setup.yaml", []byte(tc.data))
			var ve *ValidationError
			if !errors.As(err, &ve) || err.Error() != tc.want {
				t.Fatalf("Parse: %T %q, want a ValidationError %q", err, err, tc.want)
			}
		})
	}
}
