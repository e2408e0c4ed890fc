package flow

import (
	"os"
	"testing"
)

func mustRead(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
