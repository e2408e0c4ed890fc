package store

import (
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT * FROM calls WHERE id = ? AND queue = ?`, `SELECT * FROM calls WHERE id = $1 AND queue = $2`},
		{`SELECT '?' , ? FROM t`, `SELECT '?' , $1 FROM t`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT "odd?name", ?`, `SELECT "odd?name", $1`},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{"SELECT ? -- to the end?", "SELECT $1 -- to the end?"},
		{`SELECT a - ? FROM t`, `SELECT a - $1 FROM t`},
	}
	for _, tc := range tests {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzRebind: rebinding never panics, keeps every byte but the ?s it
// numbers, and leaves a query without ? as it is.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{`SELECT ?`, `'?'`, `"?"`, "-- ?\n?", `'a''b' ?`, `?-?--?`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got := rebind(q)
		if !strings.Contains(q, "?") && got != q {
			t.Fatalf("rebind(%q) = %q changed a query without placeholders", q, got)
		}
		if strings.Count(got, "?") > strings.Count(q, "?") {
			t.Fatalf("rebind(%q) = %q added placeholders", q, got)
		}
	})
}
