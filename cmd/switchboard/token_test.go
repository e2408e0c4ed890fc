package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/store"
)

// token create, list and revoke, each creation and revocation audited.
func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append(append([]string{"token"}, args...), "--data", dir), &out, &errOut)
		return out.String(), err
	}
	tok, err := cmd("create", "--user", "supervisor", "--expires", "1h")
	if err != nil || !strings.HasPrefix(tok, "sb_") {
		t.Fatalf("create: %q %v", tok, err)
	}
	if _, err := cmd("create", "--user", "nobody"); err == nil {
		t.Fatal("a token for a user not in the setup")
	}
	list, err := cmd("list")
	if err != nil || !strings.Contains(list, "supervisor") || !strings.Contains(list, "valid") {
		t.Fatalf("list: %q %v", list, err)
	}
	id := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[1])[0]
	if out, err := cmd("revoke", id); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke %s: %q %v", id, out, err)
	}
	if list, _ := cmd("list"); !strings.Contains(list, "revoked") {
		t.Fatalf("list after revoking: %q", list)
	}
	if _, err := cmd("revoke", "000000000000"); err == nil {
		t.Fatal("revoked an unknown id")
	}
	st, err := store.Open(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.TokenUser(ctx, strings.TrimSpace(tok)); err == nil {
		t.Fatal("the revoked token still authenticates")
	}
	entries, err := st.AuditLog(ctx, store.AuditFilter{Action: "token_"})
	if err != nil || len(entries) != 2 || entries[0].Action != "token_revoke" || entries[1].Action != "token_create" ||
		!strings.HasPrefix(entries[0].Actor, "cli") || entries[1].Target != "supervisor/"+id {
		t.Fatalf("audit %+v %v", entries, err)
	}
}
